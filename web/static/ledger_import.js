// The ledger import: sends the file, shows the upload and then the import's own progress
// (the server streams one JSON line per step), and lists the rows that stopped it.
(function () {
  "use strict";

  const form = document.querySelector("[data-ledger-import]");
  if (!form) {
    return;
  }
  const bar = document.getElementById("import-bar");
  const status = document.getElementById("import-status");
  const outcome = document.getElementById("import-outcome");
  const box = document.getElementById("import-progress");
  const button = document.getElementById("ledger-import-button");
  const uploadLabel = document.getElementById("import-upload-label").textContent;
  const failedLabel = document.getElementById("import-failed-label").textContent;

  function show(step) {
    if (step.message) {
      status.textContent = step.message;
    }
    if (step.stage === "storing" && step.total) {
      bar.max = step.total;
      bar.value = step.done;
    } else if (step.stage === "checking" || step.stage === "received") {
      bar.removeAttribute("value");
    }
  }

  function finish(result) {
    button.disabled = false;
    outcome.textContent = "";
    const message = document.createElement("p");
    message.className = result.result === "imported" ? "flash ok" : "flash error";
    message.id = "import-result";
    message.textContent = result.message;
    outcome.appendChild(message);
    if (result.result === "imported") {
      bar.max = 1;
      bar.value = 1;
      return;
    }
    box.hidden = true;
    if (result.errors && result.errors.length) {
      const list = document.createElement("ol");
      list.className = "import-errors";
      list.id = "import-errors";
      result.errors.forEach((error) => {
        const item = document.createElement("li");
        item.dataset.row = error.row;
        item.textContent = error.message;
        list.appendChild(item);
      });
      outcome.appendChild(list);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    let seen = 0;
    let last = null;
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/x-ndjson");
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) {
        bar.max = progress.total;
        bar.value = progress.loaded;
        status.textContent = uploadLabel.replace("{percent}", String(Math.round((100 * progress.loaded) / progress.total)));
      }
    });
    const readLines = () => {
      const text = request.responseText;
      const end = text.lastIndexOf("\n");
      if (end < seen) {
        return;
      }
      text.slice(seen, end).split("\n").filter(Boolean).forEach((line) => {
        const step = JSON.parse(line);
        if (step.result) {
          last = step;
        } else {
          show(step);
        }
      });
      seen = end + 1;
    };
    request.addEventListener("progress", readLines);
    request.addEventListener("load", () => {
      readLines();
      finish(last || { result: "refused", message: failedLabel, errors: [] });
    });
    request.addEventListener("error", () => finish({ result: "refused", message: failedLabel, errors: [] }));
    box.hidden = false;
    outcome.textContent = "";
    button.disabled = true;
    request.send(new FormData(form));
  });
})();
