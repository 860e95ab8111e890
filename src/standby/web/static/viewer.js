/* Standby viewer: the one script, a progressive enhancement (every page works without it).
   1. A table box that scrolls sideways is a keyboard stop with a name ("Medication
      administration record, scrolls sideways"), so it can be scrolled without a mouse.
   2. The sticky patient header: it stops sticking when it would cover more than a third
      of the window (a one-line strip with name, DOB and MRN sticks instead); the height
      of what sticks is kept in --subject-height, which the stylesheet uses as scroll
      padding, so that jump targets, paging and focused controls land below it. */
(function () {
  "use strict";
  var root = document.documentElement;

  function labelOf(box) {
    var table = box.querySelector("table");
    var caption = table && table.caption;
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    for (var el = box.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    var section = box.closest("section");
    var heading = section && section.querySelector("h1, h2, h3");
    return heading ? heading.textContent.trim() : "Table";
  }

  function markScrollBoxes() {
    var boxes = document.querySelectorAll(".scroll");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", labelOf(box).replace(/\s+/g, " ") + ", scrolls sideways");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }

  function fitSubject() {
    var subject = document.getElementById("patient-header");
    if (!subject) return;
    root.classList.remove("subject-unstuck");
    var sticky = getComputedStyle(subject).position === "sticky";
    if (sticky && subject.offsetHeight > window.innerHeight / 3) {
      root.classList.add("subject-unstuck");
      sticky = false;
    }
    var strip = document.getElementById("subject-strip");
    var stuck = sticky ? subject : strip && strip.offsetHeight ? strip : null;
    root.style.setProperty("--subject-height", stuck ? stuck.offsetHeight + "px" : "0px");
  }

  /* What sticks at the top: the header, or the one-line strip, or nothing. */
  function stuckHeader() {
    var subject = document.getElementById("patient-header");
    if (subject && getComputedStyle(subject).position === "sticky") return subject;
    var strip = document.getElementById("subject-strip");
    return strip && strip.offsetHeight ? strip : null;
  }

  /* Focus must never sit under what sticks at the top. */
  function revealFocus(event) {
    var stuck = stuckHeader();
    var target = event.target;
    if (!stuck || !target.getBoundingClientRect || target === document.body) return;
    if (stuck.contains(target)) return;
    var covered = stuck.getBoundingClientRect().bottom;
    var box = target.getBoundingClientRect();
    if (box.top < covered) window.scrollBy(0, box.top - covered - 8);
  }

  function update() {
    fitSubject();
    markScrollBoxes();
  }

  update();
  window.addEventListener("resize", update);
  window.addEventListener("load", update);
  document.addEventListener("focusin", revealFocus);
})();
