(function () {
  "use strict";
  // Filters only toggle `hidden`: with JavaScript off the bar stays hidden
  // and every finding shows. Nothing here reads or writes markup.
  var doc = document;
  doc.documentElement.setAttribute("data-js", "on");

  // Printing shows the rule help that is folded away on screen.
  var unfolded = [];
  window.addEventListener("beforeprint", function () {
    unfolded = Array.prototype.filter.call(doc.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    unfolded.forEach(function (d) {
      d.open = false;
    });
    unfolded = [];
  });

  var form = doc.getElementById("filters");
  if (!form) {
    return;
  }
  var sevBoxes = Array.prototype.slice.call(form.querySelectorAll("input[name=sev]"));
  var envSel = doc.getElementById("filter-env");
  var ruleSel = doc.getElementById("filter-rule");
  var status = doc.getElementById("filter-status");
  var items = Array.prototype.slice.call(doc.querySelectorAll("[data-sev][data-env][data-rule]"));
  var groups = Array.prototype.slice.call(doc.querySelectorAll("[data-group]"));
  var total = doc.querySelectorAll(".finding[data-active]").length;

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) {
      return o.value === value;
    });
  }

  // `#sev=critical,high&env=production&rule=SSL004` preselects filters, so a
  // filtered view can be linked to.
  function readHash() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) {
      return;
    }
    var params;
    try {
      params = new URLSearchParams(hash);
    } catch (e) {
      return;
    }
    if (params.has("sev")) {
      var wanted = params.get("sev").split(",");
      sevBoxes.forEach(function (box) {
        box.checked = wanted.indexOf(box.value) >= 0;
      });
    }
    if (params.has("env") && hasOption(envSel, params.get("env"))) {
      envSel.value = params.get("env");
    }
    if (params.has("rule") && hasOption(ruleSel, params.get("rule"))) {
      ruleSel.value = params.get("rule");
    }
  }

  function writeHash(sevs, filtered) {
    var params = new URLSearchParams();
    if (sevs.length !== sevBoxes.length) {
      params.set("sev", sevs.join(","));
    }
    if (envSel.value) {
      params.set("env", envSel.value);
    }
    if (ruleSel.value) {
      params.set("rule", ruleSel.value);
    }
    var hash = filtered ? "#" + params.toString() : "";
    if (hash === location.hash || (!filtered && location.hash.indexOf("=") < 0)) {
      return;
    }
    try {
      history.replaceState(null, "", hash || location.pathname + location.search);
    } catch (e) {
      // Some browsers refuse history changes on file:// pages; filtering still works.
    }
  }

  function apply(updateHash) {
    var sevs = sevBoxes.filter(function (b) {
      return b.checked;
    }).map(function (b) {
      return b.value;
    });
    var env = envSel.value;
    var rule = ruleSel.value;
    var shown = 0;
    items.forEach(function (el) {
      var ok = sevs.indexOf(el.getAttribute("data-sev")) >= 0 &&
        (!env || el.getAttribute("data-env") === env) &&
        (!rule || el.getAttribute("data-rule") === rule);
      el.hidden = !ok;
      if (ok && el.hasAttribute("data-active")) {
        shown += 1;
      }
    });
    // Innermost groups first, so an environment sees its hosts' state.
    for (var i = groups.length - 1; i >= 0; i -= 1) {
      var g = groups[i];
      g.hidden = !g.querySelector("[data-sev]:not([hidden])");
    }
    var filtered = sevs.length !== sevBoxes.length || !!env || !!rule;
    form.setAttribute("data-filtered", filtered ? "yes" : "no");
    status.textContent = filtered
      ? "showing " + shown + " of " + total + " active findings"
      : "showing all " + total + " active findings";
    if (updateHash) {
      writeHash(sevs, filtered);
    }
  }

  form.hidden = false;
  readHash();
  apply(false);
  form.addEventListener("change", function () {
    apply(true);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
  });
  form.addEventListener("reset", function () {
    // The form resets its controls after this event; filter once it has.
    setTimeout(function () {
      apply(true);
    }, 0);
  });
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") >= 0) {
      readHash();
      apply(false);
    }
  });
})();
