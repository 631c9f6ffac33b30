// The customer's signature, drawn on the page's canvas with signature_pad; the PNG goes with the form.
(function () {
  "use strict";

  function setUp(box) {
    var canvas = box.querySelector("canvas.signature-pad");
    var image = box.querySelector("[data-signature-image]");
    var form = box.closest("form");
    if (!canvas || !image || !form || typeof SignaturePad === "undefined") {
      return;
    }
    var pad = new SignaturePad(canvas, { penColor: "#111", backgroundColor: "rgb(255,255,255)" });

    // Draw at the screen's resolution, so the signature stays sharp on a phone.
    function fit() {
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var kept = pad.isEmpty() ? null : pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (kept) {
        pad.fromData(kept);
      }
    }
    window.addEventListener("resize", fit);
    fit();

    var clear = box.querySelector("[data-signature-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        pad.clear();
        image.value = "";
      });
    }
    form.addEventListener("submit", function () {
      image.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-signature-field]").forEach(setUp);
  });
})();
