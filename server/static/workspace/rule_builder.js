// Rule builder: repeatable rows and the live plain-words sentence (server-rendered).
(function () {
  "use strict";
  var form = document.getElementById("pf-rule-form");
  if (!form) { return; }
  var sentence = document.getElementById("pf-sentence");
  var lang = document.getElementById("pf-lang");
  var timer = null;
  var latest = 0;

  function renumber(table) {
    var name = table.getAttribute("data-name");
    table.querySelectorAll("tr.pf-row").forEach(function (row, index) {
      row.querySelectorAll("input").forEach(function (input) {
        var rest = input.name.substring(name.length + 1).split(".").slice(1);
        input.name = [name, String(index)].concat(rest).join(".");
      });
    });
  }

  form.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) { return; }
    if (target.classList.contains("pf-add-row")) {
      var table = form.querySelector('table.pf-rows[data-name="' + target.getAttribute("data-for") + '"]');
      var rows = table.querySelectorAll("tr.pf-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      rows[rows.length - 1].parentNode.appendChild(copy);
      renumber(table);
      schedule();
    } else if (target.classList.contains("pf-remove-row")) {
      var owner = target.closest("table");
      if (owner.querySelectorAll("tr.pf-row").length > 1) {
        target.closest("tr").remove();
        renumber(owner);
        schedule();
      }
    }
  });

  // Errors are shown for the fields the user has changed (and those the server already
  // refused): a fresh form must not open with "parameter not set" under empty fields.
  var touched = new Set();
  form.querySelectorAll(".pf-error").forEach(function (node) {
    if (node.textContent.trim() !== "") { touched.add(node.getAttribute("data-error-for")); }
  });

  function touch(event) {
    var group = event.target.closest("[data-field], fieldset, .form-group");
    if (!group) { return; }
    group.querySelectorAll(".pf-error").forEach(function (node) {
      touched.add(node.getAttribute("data-error-for"));
    });
  }

  function showErrors(errors) {
    form.querySelectorAll(".pf-error").forEach(function (node) {
      var field = node.getAttribute("data-error-for");
      if (field === "id") { return; }
      var text = touched.has(field) ? errors[field] || "" : "";
      node.textContent = text;
      var group = node.closest(".form-group, fieldset");
      if (group) { group.classList.toggle("has-error", text !== ""); }
    });
  }

  function describe() {
    var ticket = ++latest;
    var data = new FormData(form);
    data.set("lang", lang.value);
    fetch(form.getAttribute("data-describe"), {method: "POST", body: data, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (ticket !== latest) { return; }  // a newer request answers for newer values
        showErrors(body.errors || {});
        sentence.textContent = body.sentence || "";
        sentence.classList.toggle("text-muted", !body.sentence);
      })
      .catch(function () { /* the sentence stays as it was; saving validates again */ });
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(describe, 250);
  }

  form.addEventListener("input", function (event) { touch(event); schedule(); });
  form.addEventListener("change", function (event) { touch(event); schedule(); });
  lang.addEventListener("change", describe);
  describe();
}());
