// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";

  // Show only the fields of the chosen authentication type. Hidden fields
  // are disabled too, so they are not sent.
  function setupAuth(form) {
    var radios = form.querySelectorAll('input[name="auth_type"]');
    if (!radios.length) return;
    var toggle = form.querySelector("#change_credentials");
    function update() {
      var chosen = form.querySelector('input[name="auth_type"]:checked');
      var type = chosen ? chosen.value : "none";
      form.querySelectorAll("[data-auth]").forEach(function (set) {
        var show = set.getAttribute("data-auth") === type;
        set.hidden = !show;
        set.querySelectorAll("input").forEach(function (input) {
          var secretLocked = toggle && !toggle.checked && input.hasAttribute("data-secret");
          input.disabled = !show || secretLocked;
        });
      });
      var box = form.querySelector("[data-auth-secret-toggle]");
      if (box) box.hidden = type === "none";
    }
    radios.forEach(function (r) { r.addEventListener("change", update); });
    if (toggle) toggle.addEventListener("change", update);
    update();
  }

  // Status options belong to their event type: usable only when it is ticked.
  function setupOptions(form) {
    form.querySelectorAll("[data-for-event]").forEach(function (set) {
      var name = set.getAttribute("data-for-event");
      var box = form.querySelector('input[name="events"][value="' + name + '"]');
      if (!box) return;
      function update() { set.disabled = !box.checked; }
      box.addEventListener("change", update);
      update();
    });
  }

  // While a validation or a delivery is under way, ask the server now and
  // then whether anything changed, and reload the page when it did.
  function setupPoll(el) {
    var url = el.getAttribute("data-poll");
    var state = el.getAttribute("data-state");
    var tries = 0;
    function poll() {
      if (++tries > 150) return;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body) return;
          if (body.state !== state) {
            window.location.reload();
            return;
          }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    setTimeout(poll, 700);
  }

  // The upload status of a test event matters only for upload.
  function setupTestType(form) {
    var type = form.querySelector('select[name="type"]');
    var set = form.querySelector("[data-for-test-type]");
    if (!type || !set) return;
    function update() {
      var show = type.value === set.getAttribute("data-for-test-type");
      set.hidden = !show;
      set.querySelectorAll("select").forEach(function (s) { s.disabled = !show; });
    }
    type.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (f) {
      setupAuth(f);
      setupOptions(f);
      setupTestType(f);
    });
    document.querySelectorAll("[data-poll]").forEach(setupPoll);
  });
})();
