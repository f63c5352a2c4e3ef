// matakota camera wall: a thumbnail per camera, coloured by state, filtered by site and state; click one for its live
// view (MJPEG) and its last events. Made for hundreds of cameras: only tiles on screen fetch thumbnails (an
// IntersectionObserver), each tile's thumbnail is one blob URL revoked when replaced, and the live view stops
// (its <img> emptied) when the viewer closes. The token is the dashboard's (localStorage, or #token=…).
"use strict";
(() => {
  const KEY = "matakota.token";
  const $ = (id) => document.getElementById(id);
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("token")) {
    localStorage.setItem(KEY, hash.get("token"));
    hash.delete("token");
    history.replaceState(null, "", location.pathname + location.search + (hash.size ? `#${hash}` : ""));
  }
  const seconds = (name, fallback) => Math.max(1, +hash.get(name) || fallback);
  const CFG = { listS: seconds("poll", 10), thumbS: seconds("thumb", 5), thumbWidth: 320, events: 10 };
  const token = localStorage.getItem(KEY) || "";
  const base = location.pathname.replace(/\/ui\/wall\/?$/, "");
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const api = async (path, blob = false) => {
    const response = await fetch(base + path, { headers, cache: "no-store" });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return blob ? response.blob() : response.json();
  };

  const empty = $("wall-empty");  // shown in the wall when no camera matches
  const tiles = new Map();  // camera id → {node, img, url, visible, row}
  const visible = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const tile = tiles.get(entry.target.dataset.camera);
      if (tile) {
        tile.visible = entry.isIntersecting;
        if (tile.visible && !tile.url) refresh(tile);
      }
    }
  });

  async function refresh(tile) {
    if (tile.row.state !== "online") return;
    try {
      const image = await api(`/v1/cameras/${encodeURIComponent(tile.row.id)}/frame.jpg?width=${CFG.thumbWidth}`, true);
      if (tile.url) URL.revokeObjectURL(tile.url);
      tile.url = URL.createObjectURL(image);
      tile.img.src = tile.url;
    } catch (error) { /* no analysed frame yet: the next round tries again */ }
  }

  function tileFor(row) {
    let tile = tiles.get(row.id);
    if (!tile) {
      const node = $("tile-template").content.firstElementChild.cloneNode(true);
      node.dataset.camera = row.id;
      node.addEventListener("click", () => openViewer(row.id));
      tile = { node, img: node.querySelector("img"), url: null, visible: false, row };
      tiles.set(row.id, tile);
      visible.observe(node);
    }
    tile.row = row;
    tile.node.className = `tile ${row.state}`;
    tile.node.querySelector(".tile-id").textContent = row.id;
    tile.node.querySelector(".tile-site").textContent = row.site;
    tile.node.querySelector(".tile-state").textContent = row.state;
    tile.img.alt = `${row.id} (${row.state})`;
    return tile;
  }

  function fillSelect(select, values) {
    const have = new Set([...select.options].map((o) => o.value));
    for (const value of [...values].sort()) {
      if (!have.has(value)) select.add(new Option(value, value));
    }
  }

  async function list() {
    let rows;
    try { rows = await api("/v1/cameras"); } catch (error) { console.warn(error.message); return; }
    fillSelect($("site"), new Set(rows.map((r) => r.site)));
    fillSelect($("state"), new Set(rows.map((r) => r.state)));
    const site = $("site").value, state = $("state").value;
    const shown = rows.filter((r) => (!site || r.site === site) && (!state || r.state === state))
      .sort((a, b) => a.site.localeCompare(b.site) || a.id.localeCompare(b.id));
    const keep = new Set(rows.map((r) => r.id));
    for (const [id, tile] of tiles) {
      if (!keep.has(id)) {
        visible.unobserve(tile.node);
        if (tile.url) URL.revokeObjectURL(tile.url);
        tile.node.remove();
        tiles.delete(id);
      }
    }
    for (const row of rows) tileFor(row);
    $("wall").replaceChildren(...(shown.length ? shown.map((r) => tiles.get(r.id).node) : [empty]));
    $("shown").textContent = `${shown.length} of ${rows.length} cameras`;
    lastRows = shown;
    if (view === "map") drawMap(shown);
  }

  // ---- the map: cameras at their `location`, coloured by state, ringed while an alarm is active, labelled by site.
  // Web Mercator fitted to the cameras; tiles only from the tile server the deployment configures (api.map_tiles).
  const SVG = "http://www.w3.org/2000/svg";
  const TERMINAL = new Set(["cleared", "ended"]);
  const svg = (tag, attrs, parent) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  };
  const mercator = ({ lat, lon }) => {
    const s = Math.sin(lat * Math.PI / 180);
    return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
  };

  async function activeAlarms() {
    const since = Math.floor(Date.now() / 1000) - 86400;
    const page = await api(`/v1/events?${new URLSearchParams({ since: String(since), limit: "1000" })}`);
    const latest = new Map();  // newest first: the first event of an incident is its state now
    for (const e of page.items) if (!latest.has(e.incident_id)) latest.set(e.incident_id, e);
    return new Set([...latest.values()].filter((e) => !TERMINAL.has(e.state)).map((e) => e.camera));
  }

  async function drawMap(rows) {
    const placed = rows.filter((r) => r.location);
    $("map-note").textContent = placed.length < rows.length
      ? `${rows.length - placed.length} of ${rows.length} cameras have no location (camera field \`location\`)` : "";
    const dots = $("dots"), sites = $("sites"), tiles = $("tiles");
    dots.replaceChildren(); sites.replaceChildren(); tiles.replaceChildren();
    if (!placed.length) return;
    let alarms = new Set();
    try { alarms = await activeAlarms(); } catch (error) { console.warn(error.message); }
    const points = placed.map((r) => mercator(r.location));
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const pad = 0.00005;
    const x0 = Math.min(...xs) - pad, x1 = Math.max(...xs) + pad, y0 = Math.min(...ys) - pad, y1 = Math.max(...ys) + pad;
    const scale = Math.min(900 / (x1 - x0), 520 / (y1 - y0));
    const at = ([x, y]) => [500 + (x - (x0 + x1) / 2) * scale, 300 + (y - (y0 + y1) / 2) * scale];
    const template = document.body.dataset.tiles;
    if (template) {  // whole tiles at the zoom nearest the fitted scale
      const z = Math.max(0, Math.min(19, Math.round(Math.log2(scale / 256))));
      const n = 2 ** z, size = scale / n;
      const [left, top] = [(x0 + x1) / 2 - 500 / scale, (y0 + y1) / 2 - 300 / scale];
      for (let tx = Math.floor(left * n); tx <= Math.floor((left + 1000 / scale) * n); tx++) {
        for (let ty = Math.floor(top * n); ty <= Math.floor((top + 600 / scale) * n); ty++) {
          const [x, y] = at([tx / n, ty / n]);
          svg("image", { href: template.replace("{z}", z).replace("{x}", tx).replace("{y}", ty), x, y,
                         width: size, height: size }, tiles);
        }
      }
    }
    const bySite = new Map();
    placed.forEach((row, i) => {
      const [x, y] = at(points[i]);
      (bySite.get(row.site) || bySite.set(row.site, []).get(row.site)).push([x, y]);
      if (alarms.has(row.id)) svg("circle", { class: "ring", cx: x, cy: y, r: 15 }, dots);
      const dot = svg("circle", { class: `dot ${row.state}`, cx: x, cy: y, r: 8, "data-camera": row.id }, dots);
      svg("title", {}, dot).textContent = `${row.id} · ${row.site} · ${row.state}${alarms.has(row.id) ? " · ALARM" : ""}`;
      dot.addEventListener("click", () => openViewer(row.id));
    });
    for (const [site, spots] of bySite) {
      const x = spots.reduce((a, p) => a + p[0], 0) / spots.length, y = Math.min(...spots.map((p) => p[1])) - 18;
      svg("text", { class: "site-label", x, y, "text-anchor": "middle" }, sites).textContent = site;
    }
  }

  let view = "wall", lastRows = [];
  function show(which) {
    view = which;
    $("wall").hidden = which !== "wall";
    $("map-view").hidden = which !== "map";
    $("show-wall").setAttribute("aria-pressed", String(which === "wall"));
    $("show-map").setAttribute("aria-pressed", String(which === "map"));
    if (which === "map") drawMap(lastRows);
  }

  function refreshVisible() {
    if (view !== "wall") return;
    for (const tile of tiles.values()) if (tile.visible) refresh(tile);
  }

  async function openViewer(id) {
    const viewer = $("viewer");
    $("viewer-title").textContent = id;
    const query = new URLSearchParams({ width: "960", ...(token ? { access_token: token } : {}) });
    $("viewer-live").src = `${base}/v1/cameras/${encodeURIComponent(id)}/live.mjpg?${query}`;
    $("viewer-events").replaceChildren();
    viewer.showModal();
    try {
      const page = await api(`/v1/events?${new URLSearchParams({ camera: id, limit: String(CFG.events) })}`);
      $("viewer-events").replaceChildren(...page.items.map((e) => {
        const item = document.createElement("li");
        item.textContent = `${new Date(e.start * 1000).toLocaleString()} · ${e.type} · ${e.key} · ${e.state}`;
        return item;
      }));
    } catch (error) { console.warn(error.message); }
  }

  function closeViewer() {
    $("viewer-live").removeAttribute("src");  // the MJPEG stream closes: its slot is given back
    $("viewer").close();
  }

  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer").addEventListener("cancel", (event) => { event.preventDefault(); closeViewer(); });
  for (const id of ["site", "state"]) $(id).addEventListener("change", list);
  $("show-wall").addEventListener("click", () => show("wall"));
  $("show-map").addEventListener("click", () => show("map"));
  list();
  setInterval(list, CFG.listS * 1000);
  setInterval(refreshVisible, CFG.thumbS * 1000);
})();
