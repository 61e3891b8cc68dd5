/* Drag a card onto a column: submits the card's transition form to that state.
   Plain DOM, no library; the buttons on each card do the same without dragging.
   A transition into a final state (data-confirm on its button) asks first, by button
   or by drag; "Cancel" leaves the card where it is. */
(function () {
  "use strict";
  var dragged = null;

  function confirmed(form) {
    var question = form.querySelector("button").dataset.confirm;
    return !question || window.confirm(question);
  }

  document.querySelectorAll("form.pf-fire").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!confirmed(form)) { event.preventDefault(); }
    });
  });

  function formFor(card, state) {
    return card.querySelector('form.pf-fire[data-to="' + state + '"]');
  }

  document.querySelectorAll(".pf-card[draggable=true]").forEach(function (card) {
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      card.classList.add("pf-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.instance);
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("pf-dragging");
      document.querySelectorAll(".pf-drop-ok").forEach(function (c) { c.classList.remove("pf-drop-ok"); });
      dragged = null;
    });
  });

  document.querySelectorAll(".pf-column").forEach(function (column) {
    column.addEventListener("dragover", function (event) {
      if (dragged && formFor(dragged, column.dataset.state)) {
        event.preventDefault();
        column.classList.add("pf-drop-ok");
      }
    });
    column.addEventListener("dragleave", function () { column.classList.remove("pf-drop-ok"); });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      var form = dragged && formFor(dragged, column.dataset.state);
      if (form && confirmed(form)) { form.submit(); }
    });
  });
})();
