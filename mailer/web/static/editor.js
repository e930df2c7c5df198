// The issue editor: line numbers that follow the text and its scrolling.
// Loaded as a file (the CSP forbids inline script).
(function () {
  "use strict";
  var text = document.getElementById("editor");
  var gutter = document.getElementById("gutter");
  if (!text || !gutter) return;
  var shown = 0;
  function number() {
    var lines = text.value.split("\n").length;
    if (lines !== shown) {
      var out = [];
      for (var i = 1; i <= lines; i++) out.push(i);
      gutter.textContent = out.join("\n") + "\n";
      shown = lines;
    }
    gutter.scrollTop = text.scrollTop;
  }
  text.addEventListener("input", number);
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  number();
  // Leaving with unsaved changes asks first.
  var saved = text.value;
  var form = document.getElementById("editor-form");
  if (form) form.addEventListener("submit", function () { saved = text.value; });
  window.addEventListener("beforeunload", function (event) {
    if (text.value !== saved) { event.preventDefault(); event.returnValue = ""; }
  });
})();
