"""Many requests, one after another: the app keeps answering. Each request of the test
client runs on a worker thread of its own, as a server's thread pool renews its workers;
a read connection kept open for every thread that ever read ran the process out of file
descriptors, and then every request that resumed a session answered 500 ("unable to open
database file")."""

from __future__ import annotations

import os
import resource

from support.web_site import Hospital, csrf_of


def test_many_requests_do_not_run_the_process_out_of_files(hospital: Hospital) -> None:
    admin = hospital.login("admin")
    token = csrf_of(admin.get("/admin/users").text)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # room for a few requests' worth of files, far fewer than the requests below
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 60, hard))
    try:
        statuses = {admin.get("/admin/users").status_code for _ in range(80)}
        triage = admin.post("/schedules/triage/x", data={"csrf_token": token})
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert statuses == {200}
    assert triage.status_code == 403  # the admin does not triage: refused, not a 500
