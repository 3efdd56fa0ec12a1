(function () {
  "use strict";
  // Filters and pagers only toggle `hidden`: with JavaScript off the bar
  // and the pagers stay hidden and every row and finding shows. Nothing here
  // reads or writes markup.
  var doc = document;
  doc.documentElement.setAttribute("data-js", "on");
  var slice = Array.prototype.slice;

  // A long list shows a page at a time. `el` is the pager's markup (hidden
  // until now); `redraw` shows the current page. Returns `{ first, last,
  // show(total) }`: call `show` with the number of matching items, then
  // keep the items with index in [first, last).
  function pager(el, redraw) {
    if (!el) {
      return null;
    }
    var size = parseInt(el.getAttribute("data-page-size"), 10) || 50;
    var out = el.querySelector("output");
    var buttons = slice.call(el.querySelectorAll("button[data-step]"));
    var p = { page: 0, first: 0, last: Infinity, total: 0 };
    p.show = function (total) {
      p.total = total;
      var pages = Math.max(1, Math.ceil(total / size));
      p.page = Math.min(p.page, pages - 1);
      p.first = p.page * size;
      p.last = p.first + size;
      out.textContent = total === 0
        ? "none"
        : (p.first + 1) + "-" + Math.min(p.last, total) + " of " + total;
      buttons[0].disabled = p.page === 0;
      buttons[1].disabled = p.page >= pages - 1;
    };
    p.reset = function () {
      p.page = 0;
    };
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        p.page += parseInt(b.getAttribute("data-step"), 10);
        if (p.page < 0) {
          p.page = 0;
        }
        redraw();
      });
    });
    el.hidden = false;
    return p;
  }

  // A paged table with a search box (and a select): rows whose first two
  // cells' text contains the search text, and whose `data-flags` has the
  // select's value, a page at a time.
  function pagedRows(rowsId, pagerId, toolsId, searchId, showId) {
    var body = doc.getElementById(rowsId);
    var tools = doc.getElementById(toolsId);
    if (!body || !doc.getElementById(pagerId)) {
      return;
    }
    var rows = slice.call(body.rows);
    var search = doc.getElementById(searchId);
    var show = showId ? doc.getElementById(showId) : null;
    var p = pager(doc.getElementById(pagerId), redraw);
    function redraw() {
      var text = search ? search.value.trim().toLowerCase() : "";
      var flag = show ? show.value : "";
      var matching = rows.filter(function (r) {
        var name = (r.cells[0].textContent + " " + (r.cells[1] ? r.cells[1].textContent : "")).toLowerCase();
        var flags = (r.getAttribute("data-flags") || "").split(" ");
        return name.indexOf(text) >= 0 && (!flag || flags.indexOf(flag) >= 0);
      });
      p.show(matching.length);
      rows.forEach(function (r) {
        r.hidden = true;
      });
      matching.slice(p.first, p.last).forEach(function (r) {
        r.hidden = false;
      });
    }
    [search, show].forEach(function (control) {
      if (control) {
        control.addEventListener("input", function () {
          p.reset();
          redraw();
        });
      }
    });
    if (tools) {
      tools.hidden = false;
    }
    redraw();
  }
  pagedRows("env-rows", "env-pager", "env-tools", "env-search", null);
  pagedRows("host-rows", "host-pager", "host-tools", "host-search", "host-show");

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
  var items = slice.call(doc.querySelectorAll("[data-sev][data-env][data-rule]"));
  var groups = slice.call(doc.querySelectorAll("[data-group]"));
  var total = doc.querySelectorAll(".finding[data-active]").length;
  // The active finding cards page when there are many; waived cards and
  // rule rows are only filtered.
  var cards = pager(doc.getElementById("findings-pager"), function () {
    apply(false);
  });

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) {
      return o.value === value;
    });
  }

  // `#sev=critical,high&env=production&rule=SSL004` sets the filters (a
  // filter it does not name is off), so a filtered view can be linked to:
  // the overview's drill-down links are such fragments.
  function readHash() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) {
      return false;
    }
    var params;
    try {
      params = new URLSearchParams(hash);
    } catch (e) {
      return false;
    }
    var wanted = params.has("sev") ? params.get("sev").split(",") : null;
    sevBoxes.forEach(function (box) {
      box.checked = !wanted || wanted.indexOf(box.value) >= 0;
    });
    envSel.value = params.has("env") && hasOption(envSel, params.get("env")) ? params.get("env") : "";
    ruleSel.value = params.has("rule") && hasOption(ruleSel, params.get("rule")) ? params.get("rule") : "";
    return true;
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
    var matching = [];
    items.forEach(function (el) {
      var ok = sevs.indexOf(el.getAttribute("data-sev")) >= 0 &&
        (!env || el.getAttribute("data-env") === env) &&
        (!rule || el.getAttribute("data-rule") === rule);
      el.hidden = !ok;
      if (ok && el.hasAttribute("data-active")) {
        shown += 1;
        matching.push(el);
      }
    });
    if (cards) {
      cards.show(matching.length);
      matching.forEach(function (el, i) {
        el.hidden = i < cards.first || i >= cards.last;
      });
    }
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
    if (cards) {
      cards.reset();
    }
    apply(true);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
  });
  form.addEventListener("reset", function () {
    // The form resets its controls after this event; filter once it has.
    setTimeout(function () {
      if (cards) {
        cards.reset();
      }
      apply(true);
    }, 0);
  });
  window.addEventListener("hashchange", function () {
    if (readHash()) {
      if (cards) {
        cards.reset();
      }
      apply(false);
      // A drill-down link was followed: show what it selected.
      doc.getElementById("findings").scrollIntoView();
    }
  });
})();
