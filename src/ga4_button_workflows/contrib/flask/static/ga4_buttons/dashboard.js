// ga4-button-workflows dashboard: the "Run analysis" button.
//
// Posts JSON to the analysis API, polls the workflow's status, shows the
// steps as they finish and reloads the dashboard when the analysis is done.
// It only talks to its own server, and it writes text with textContent, never
// as HTML, so nothing the server returns can become markup.
(function () {
  "use strict";

  var POLL_MS = 1000;
  var HINT_AFTER_MS = 15000;
  var MAX_NETWORK_ERRORS = 5;

  var root = document.querySelector("[data-ga4-dashboard]");
  if (!root) {
    return;
  }
  var button = root.querySelector("[data-testid=run-analysis]");
  var daysInput = root.querySelector("[data-testid=days-back]");
  var panel = root.querySelector("[data-testid=progress]");
  var errorBox = root.querySelector("[data-testid=run-error]");
  var title = panel.querySelector("[data-progress-title]");
  var elapsed = panel.querySelector("[data-progress-elapsed]");
  var bar = panel.querySelector("[data-progress-bar]");
  var hint = panel.querySelector("[data-progress-hint]");
  var steps = Array.prototype.slice.call(panel.querySelectorAll("[data-step]"));
  var maxDays = parseInt(root.getAttribute("data-max-days"), 10) || 434;
  var startedAt = 0;
  var networkErrors = 0;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function finish(message) {
    button.disabled = false;
    button.textContent = "Run analysis";
    if (message) {
      title.textContent = "The analysis failed";
      showError(message);
    }
  }

  function render(progress) {
    var done = {};
    progress.forEach(function (step) {
      done[step.step] = step.detail || "";
    });
    var activeMarked = false;
    steps.forEach(function (item) {
      var key = item.getAttribute("data-step");
      var detail = item.querySelector(".step-detail");
      item.classList.remove("active", "done");
      if (Object.prototype.hasOwnProperty.call(done, key)) {
        item.classList.add("done");
        detail.textContent = done[key];
      } else {
        detail.textContent = "";
        if (!activeMarked) {
          item.classList.add("active");
          activeMarked = true;
        }
      }
    });
    bar.value = progress.length;
  }

  function tick() {
    var seconds = Math.round((Date.now() - startedAt) / 1000);
    elapsed.textContent = seconds + " s";
  }

  function readJson(response) {
    return response.json().catch(function () {
      return { error: "HTTP " + response.status + " " + response.statusText };
    });
  }

  function poll(statusUrl) {
    tick();
    fetch(statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (response) {
        return readJson(response).then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (answer) {
        networkErrors = 0;
        var body = answer.body;
        if (!answer.ok) {
          finish(body.error || "The status of the analysis could not be read.");
          return;
        }
        if (body.status === "completed") {
          steps.forEach(function (item) {
            item.classList.remove("active");
            item.classList.add("done");
          });
          title.textContent = "Done: loading the new insights…";
          bar.value = bar.max;
          window.location.assign(body.dashboard_url || window.location.href);
          return;
        }
        if (body.status === "failed") {
          finish(body.reason || "The analysis failed.");
          return;
        }
        render(body.progress || []);
        title.textContent = "Analysing…";
        hint.hidden = !(
          (body.progress || []).length === 0 && Date.now() - startedAt > HINT_AFTER_MS
        );
        window.setTimeout(poll, POLL_MS, statusUrl);
      })
      .catch(function () {
        networkErrors += 1;
        if (networkErrors > MAX_NETWORK_ERRORS) {
          finish("The server stopped answering while the analysis ran.");
          return;
        }
        window.setTimeout(poll, POLL_MS * 2, statusUrl);
      });
  }

  function start() {
    var days = Number(daysInput.value);
    if (!Number.isInteger(days) || days < 1 || days > maxDays) {
      showError("Choose a whole number of days from 1 to " + maxDays + ".");
      daysInput.focus();
      return;
    }
    errorBox.hidden = true;
    button.disabled = true;
    button.textContent = "Running…";
    panel.hidden = false;
    title.textContent = "Starting the analysis…";
    hint.hidden = true;
    render([]);
    startedAt = Date.now();
    networkErrors = 0;

    fetch(root.getAttribute("data-analyze-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({
        days_back: days,
        property_id: root.getAttribute("data-property-id"),
      }),
    })
      .then(function (response) {
        return readJson(response).then(function (body) {
          if (response.status !== 202) {
            panel.hidden = true;
            finish(body.error || "The analysis could not be started.");
            return;
          }
          poll(body.status_url);
        });
      })
      .catch(function () {
        finish("The server could not be reached.");
      });
  }

  button.addEventListener("click", start);
})();
