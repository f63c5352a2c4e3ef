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
    $("wall").replaceChildren(...shown.map((r) => tiles.get(r.id).node));
    $("wall-empty").hidden = shown.length > 0;
    if (!shown.length) $("wall").append($("wall-empty"));
    $("shown").textContent = `${shown.length} of ${rows.length} cameras`;
  }

  function refreshVisible() {
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
  list();
  setInterval(list, CFG.listS * 1000);
  setInterval(refreshVisible, CFG.thumbS * 1000);
})();
