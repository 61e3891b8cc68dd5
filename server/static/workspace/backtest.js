// Backtest: queue the job, poll its progress, then show the result table.
(function () {
  "use strict";
  var form = document.getElementById("pf-backtest");
  if (!form) { return; }
  var box = document.getElementById("pf-backtest-progress");
  var bar = box.querySelector(".progress-bar");
  var message = document.getElementById("pf-backtest-message");
  var result = document.getElementById("pf-backtest-result");

  function setBar(percent) {
    bar.style.width = percent + "%";
    bar.textContent = percent + "%";
  }

  function poll(urls) {
    fetch(urls.status_url, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.total > 0) { setBar(Math.min(100, Math.round(100 * body.done / body.total))); }
        if (body.status === "finished") {
          setBar(100);
          return fetch(urls.result_url + "?partial=1", {credentials: "same-origin"})
            .then(function (response) { return response.text(); })
            .then(function (html) { result.innerHTML = html; });
        }
        if (body.status === "failed" || body.status === "stopped" || body.status === "canceled") {
          message.textContent = body.status;
          return null;
        }
        setTimeout(function () { poll(urls); }, 700);
        return null;
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    message.textContent = "";
    result.innerHTML = "";
    box.style.display = "";
    setBar(0);
    fetch(form.getAttribute("data-url"), {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.error) { message.textContent = body.error; box.style.display = "none"; return; }
        poll(body);
      });
  });
}());
