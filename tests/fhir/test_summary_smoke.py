from datetime import timedelta

from standby.fhir.summary import AllergyStatus, SectionStatus, patient_summary
from summary_fixtures import LOCATIONS, NOW, allergy, encounter, med_request, patient

def test_smoke():
    res = [patient(), allergy("Penicillin"), encounter(),
           med_request("m1", "Metoprolol", timing={"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}})]
    s = patient_summary(res, NOW, resolved=LOCATIONS)
    print(s.header)
    print(s.allergies, s.mar)
    assert s.allergies.status is AllergyStatus.LISTED
