// "New program": suggest the code from the title as it is typed (Russian letters in
// Latin ones, lowercase, words joined by hyphens), as server/programs/slugs.py does;
// the table comes from the server, so both spell alike. A code the manager typed
// themselves is left alone.
(function () {
  "use strict";
  var form = document.getElementById("pf-new-program");
  if (!form) { return; }
  var table = JSON.parse(form.getAttribute("data-transliteration"));
  var limit = parseInt(form.getAttribute("data-suggested-length"), 10);
  var title = document.getElementById("pf-title");
  var slug = document.getElementById("pf-slug");
  var copyOf = document.getElementById("pf-copy-of");

  function suggest(text) {
    var latin = "";
    var lower = text.toLowerCase();
    for (var i = 0; i < lower.length; i++) {
      var ch = lower.charAt(i);
      latin += Object.prototype.hasOwnProperty.call(table, ch) ? table[ch] : ch;
    }
    var out = latin.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    if (out.length > limit) { out = out.substring(0, limit).replace(/-+$/, ""); }
    return out;
  }

  var suggested = suggest(title.value);
  var typedByHand = slug.value !== "" && slug.value !== suggested;
  title.addEventListener("input", function () {
    if (typedByHand) { return; }
    suggested = suggest(title.value);
    slug.value = suggested;
  });
  slug.addEventListener("input", function () {
    typedByHand = slug.value !== "" && slug.value !== suggested;
  });
  if (copyOf) {
    // picking a program to copy picks "a copy of a program"
    copyOf.addEventListener("change", function () {
      form.querySelector('input[name="start"][value="copy"]').checked = true;
    });
  }
}());
