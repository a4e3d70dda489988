/* truceline dashboard: reads the API with the signed-in user's token (kept for this tab
   only) and shows what that role may read. No framework; Leaflet from its package. */
(function () {
  "use strict";
  var S = window.TRUCELINE_STRINGS || {};
  var COLOURS = { reported: "#7a7a7a", corroborated: "#e08a00", verified: "#c0182a",
                  disputed: "#7b3fa0", rejected: "#b9b9b9" };
  var ZONE_STYLE = {
    control: { color: "#999", weight: 0.5, fillOpacity: 0.08 },
    buffer: { color: "#b79b2a", weight: 1, fillColor: "#f6e7a1", fillOpacity: 0.35 },
    withdrawal_band: { color: "#1f5f8b", weight: 1, dashArray: "4 3", fill: false },
    exclusion: { color: "#b01c1c", weight: 1.5, fillOpacity: 0.1 },
    sector: { color: "#9a9a9a", weight: 0.6, fill: false },
    contact_line: { color: "#111", weight: 2.5 }
  };

  function t(key, vars) {
    var s = S[key] || key;
    Object.keys(vars || {}).forEach(function (k) { s = s.split("%(" + k + ")s").join(vars[k]); });
    return s;
  }
  function token() { return sessionStorage.getItem("truceline-token") || ""; }
  function get(path) {
    var headers = { Accept: "application/json" };
    if (token()) { headers.Authorization = "Bearer " + token(); }
    return fetch(path, { headers: headers }).then(function (r) {
      if (r.status === 401 || r.status === 403) { var e = new Error("denied"); e.denied = true; throw e; }
      if (r.status === 404) { var m = new Error(t("not on this server")); m.missing = true; throw m; }
      if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
      return r.json();
    });
  }
  function items(doc) {
    if (Array.isArray(doc)) { return doc; }
    return doc.items || doc.features || doc.findings || doc.notifications || doc.alerts || [];
  }
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    if (cls) { n.className = cls; }
    return n;
  }
  function fail(node, err) {
    node.textContent = "";
    var text = err.denied ? t("not available for your role")
      : err.missing ? err.message : t("could not load: %(reason)s", { reason: err.message });
    node.appendChild(el(node.tagName === "TBODY" ? "tr" : "li", text, "note"));
  }

  var map = L.map("map", { preferCanvas: false }).setView([48.3, 37.8], 7);
  var zoneLayer = L.geoJSON(null, {
    style: function (f) { return ZONE_STYLE[f.properties.kind] || { weight: 1 }; }
  }).addTo(map);
  var incidentLayer = L.geoJSON(null, {
    pointToLayer: function (f, latlng) {
      var st = f.properties.status;
      return L.circleMarker(latlng, { radius: 6, color: "#222", weight: 0.8,
        fillColor: COLOURS[st] || "#444", fillOpacity: 0.9, className: "incident status-" + st });
    },
    onEachFeature: function (f, layer) { layer.on("click", function () { showIncident(f.id || f.properties.id); }); }
  }).addTo(map);

  function loadZones() {
    return get("/dashboard/zones").then(function (doc) {
      zoneLayer.clearLayers();
      zoneLayer.addData(doc);
      if (doc.agreement) { document.getElementById("agreement").textContent = doc.agreement.title; }
      if (doc.features.length) { map.fitBounds(zoneLayer.getBounds(), { padding: [10, 10] }); }
    }).catch(function () { /* the map still shows incidents */ });
  }

  function period() {
    var q = [], s = document.getElementById("since").value, u = document.getElementById("until").value;
    if (s) { q.push("since=" + s + "T00:00:00Z"); }
    if (u) { q.push("until=" + u + "T23:59:59Z"); }
    return q;
  }

  function loadIncidents() {
    var q = period().concat(["limit=10000"]);
    var count = document.getElementById("count");
    count.textContent = t("loading...");
    return get("/incidents?" + q.join("&")).then(function (doc) {
      incidentLayer.clearLayers();
      incidentLayer.addData(doc);
      var n = (doc.features || []).length;
      count.textContent = n ? String(n) : t("no incidents in this period");
      document.body.setAttribute("data-incidents", String(n));
    }).catch(function (err) { count.textContent = err.denied ? t("not available for your role") : err.message; });
  }

  function showIncident(id) {
    var box = document.getElementById("detail");
    box.textContent = t("loading...");
    get("/incidents/" + id).then(function (f) {
      var p = f.properties || f;
      box.textContent = "";
      box.appendChild(el("h3", t("incident %(id)s", { id: id })));
      var dl = el("dl");
      var labels = { weapon_class: "weapon" };
      ["kind", "count", "status", "confidence", "sector", "weapon_class", "actor", "place"].forEach(function (k) {
        if (p[k] === undefined || p[k] === null) { return; }
        var v = typeof p[k] === "object" ? (p[k].name || JSON.stringify(p[k])) : t(String(p[k]));
        dl.appendChild(el("dt", t(labels[k] || k))); dl.appendChild(el("dd", v));
      });
      box.appendChild(dl);
      if (p.observations) {
        box.appendChild(el("h4", t("observations")));
        var ul = el("ul");
        p.observations.forEach(function (o) { ul.appendChild(el("li", [o.source_id, o.kind, o.count].join(" · "))); });
        box.appendChild(ul);
      }
      if (p.history) {
        box.appendChild(el("h4", t("status history")));
        var hl = el("ul");
        p.history.forEach(function (h) { hl.appendChild(el("li", [h.to_status, h.actor, h.reason].join(" · "))); });
        box.appendChild(hl);
      }
    }).catch(function (err) { fail(box, err); });
  }

  function loadFindings() {
    var body = document.querySelector("#findings tbody");
    return get("/findings?" + period().join("&")).then(function (doc) {
      var rows = items(doc);
      body.textContent = "";
      if (!rows.length) { var tr = el("tr"); tr.appendChild(el("td", t("no findings in this period"), "note")); body.appendChild(tr); }
      rows.slice(0, 200).forEach(function (f) {
        var tr = el("tr");
        tr.appendChild(el("td", f.id));
        tr.appendChild(el("td", f.rule_id));
        tr.appendChild(el("td", f.party || (f.party_withheld ? t("party not named until an analyst confirms") : "")));
        tr.appendChild(el("td", t(f.status)));
        body.appendChild(tr);
      });
    }).catch(function (err) { fail(body, err); });
  }

  function loadList(path, id, empty, show) {
    var ul = document.getElementById(id);
    return get(path).then(function (doc) {
      var rows = items(doc);
      ul.textContent = "";
      if (!rows.length) { ul.appendChild(el("li", t(empty), "note")); }
      rows.slice(0, 100).forEach(function (r) { ul.appendChild(el("li", show(r))); });
    }).catch(function (err) { fail(ul, err); });
  }
  function loadAlerts() {
    return loadList("/alerts", "alerts", "no alerts", function (a) {
      return [a.unit || a.sector, a.window_start || a.t || "", a.probability !== undefined ? "p=" + a.probability : (a.score || "")].join(" · ");
    });
  }
  function loadRegister() {
    return loadList("/notifications", "register", "no notifications", function (n) {
      return [n.id, n.activity || n.kind, n.party || "", n.t_start || n.window_start || ""].join(" · ");
    });
  }

  function whoami() {
    return get("/dashboard/me").then(function (u) {
      document.getElementById("who").textContent = u.role === "public" && !token()
        ? t("public: published data only")
        : t("signed in as %(name)s (%(role)s)", { name: u.name, role: u.role + (u.party ? " " + u.party : "") });
      document.body.setAttribute("data-role", u.role);
    }).catch(function (err) {
      document.getElementById("who").textContent = err.message;
      sessionStorage.removeItem("truceline-token");
    });
  }

  function refresh() {
    return Promise.all([whoami(), loadIncidents(), loadFindings(), loadAlerts(), loadRegister()])
      .then(function () { document.body.setAttribute("data-ready", "1"); });
  }

  document.getElementById("signin").addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem("truceline-token", document.getElementById("token").value.trim());
    document.getElementById("token").value = "";
    document.body.removeAttribute("data-ready");
    refresh();
  });
  document.getElementById("signout").addEventListener("click", function () {
    sessionStorage.removeItem("truceline-token");
    document.body.removeAttribute("data-ready");
    refresh();
  });
  document.getElementById("period").addEventListener("submit", function (e) {
    e.preventDefault();
    loadIncidents(); loadFindings();
  });
  setInterval(function () { if (!document.hidden) { loadAlerts(); } }, 15000);
  loadZones().then(refresh);
}());
