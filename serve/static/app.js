// matakota operator dashboard: vanilla JS, no dependencies, nothing loaded from outside the API.
// Made to stay open for days on a wall screen: every collection is bounded, DOM nodes are reused (keyed by
// id), each poller owns one timer, snapshot blob URLs are revoked when their card goes, and the live stream
// reconnects by itself (EventSource's own retry, plus ours when the server refuses or goes quiet).
"use strict";
(() => {
  const KEY = "matakota.token";
  const SVG = "http://www.w3.org/2000/svg";
  const TERMINAL = new Set(["cleared", "ended"]);
  const TITLES = { flood_level: "Flood level", flood_rise: "Water rising fast", parking_violation: "Illegal parking",
                   crowding: "Crowding", intrusion: "Intrusion" };
  const PRIORITY = { flood_level: 0, flood_rise: 0, intrusion: 1, crowding: 2, parking_violation: 3 };
  const $ = (id) => document.getElementById(id);
  const noop = () => {};

  // ---- configuration from the URL fragment: #token=…&poll=5&series=60&levels=30&visits=300&hours=3 (never sent
  // to the server)
  const hash = new Map(location.hash.slice(1).split("&").filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    return at < 0 ? [pair, ""] : [pair.slice(0, at), decodeURIComponent(pair.slice(at + 1))];
  }));
  const num = (value, fallback, lo, hi = Infinity) =>
    Number.isFinite(+value) && value !== undefined && value !== "" ? Math.min(hi, Math.max(lo, +value)) : fallback;
  const CFG = {
    cameraPollS: num(hash.get("poll"), 5, 1),     // /v1/cameras: state and live zone occupancy
    seriesPollS: num(hash.get("series"), 60, 1),  // /v1/counts: per-site time series (1-minute buckets)
    levelsPollS: num(hash.get("levels"), 30, 1),  // /v1/levels: water levels of gauge cameras
    visitsPollS: num(hash.get("visits"), 300, 1),  // /v1/visits: each site's visits per day
    hours: num(hash.get("hours"), 3, 1, 24),
    historySize: 100, maxCameraRows: 200, maxAlarmCards: 50, closedMemory: 2000,
    resyncHours: 48, silenceS: 600, requestTimeoutMs: 20000,
  };
  if (hash.has("token")) {  // take the token out of the address bar (and of screenshots) at once
    localStorage.setItem(KEY, hash.get("token"));
    hash.delete("token");
    const rest = [...hash].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  let token = localStorage.getItem(KEY) || "";
  let authBroken = false;
  const base = location.pathname.replace(/\/ui\/?$/, "");  // keeps a reverse proxy's path prefix

  // ---- helpers
  const HHMM = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const hhmm = new Intl.DateTimeFormat(undefined, HHMM);
  const clock = new Intl.DateTimeFormat(undefined, { ...HHMM, second: "2-digit" });
  const timeOf = (epochS) => clock.format(new Date(epochS * 1000));
  const setText = (el, text) => { text = String(text); if (el.textContent !== text) el.textContent = text; };
  const drawHourTicks = (chart, t0, t1, x) => {  // about six hour labels along a chart's time axis
    const every = Math.ceil(CFG.hours / 6) * 3600;
    let hour = Math.ceil(t0 / every) * every;
    for (const tick of chart.ticks) {
      const visible = hour < t1;
      if (visible) tick.setAttribute("x", x(hour));
      setText(tick, visible ? hhmm.format(new Date(hour * 1000)) : "");
      hour += every;
    }
  };
  const el = (tag, cls, parent) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  };
  const svg = (tag, attrs, parent) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  };
  const qs = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
  function duration(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
  }
  function place(parent, node, index) {  // move a node to a position only when it is elsewhere
    if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] || null);
  }

  // ---- API calls: bearer token in the header; a 401/403 stops everything and asks for a token
  class AuthError extends Error {}
  class HttpError extends Error {
    constructor(status, path) { super(`${path}: HTTP ${status}`); this.status = status; }
  }
  async function api(path, blob = false) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const response = await fetch(base + path, { headers, cache: "no-store",
                                                signal: AbortSignal.timeout(CFG.requestTimeoutMs) });
    if (response.status === 401 || response.status === 403) {
      authFailed(response.status);
      throw new AuthError(`HTTP ${response.status}`);
    }
    if (!response.ok) throw new HttpError(response.status, path);
    return blob ? response.blob() : response.json();
  }

  async function post(path, body) {  // an operator action: a refusal (403, 409) is answered, not a lost token
    const headers = { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) };
    const response = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body),
                                                signal: AbortSignal.timeout(CFG.requestTimeoutMs) });
    const answer = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body: answer };
  }

  // ---- the alarm sound (Web Audio): two tones on each new alarm from the live stream, unless muted
  const MUTE_KEY = "matakota.mute";
  let audio = null;
  function alarmSound() {
    if (localStorage.getItem(MUTE_KEY) === "1") return;
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume().catch(noop);  // until the page has had a click
    [880, 660].forEach((hz, i) => {
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = hz;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + i * 0.25);
      tone.stop(audio.currentTime + i * 0.25 + 0.2);
    });
  }
  function showMute() {
    const muted = localStorage.getItem(MUTE_KEY) === "1";
    setText($("mute"), muted ? "sound off" : "sound on");
    $("mute").setAttribute("aria-pressed", String(muted));
  }
  $("mute").addEventListener("click", () => {
    localStorage.setItem(MUTE_KEY, localStorage.getItem(MUTE_KEY) === "1" ? "0" : "1");
    showMute();
  });
  showMute();

  function poller(run, seconds) {  // run(), then again `seconds()` after it finished; one timer at most
    let timer = 0, active = false;
    const tick = async () => {
      timer = 0;
      try { await run(); } catch (error) { if (!(error instanceof AuthError)) console.warn(error.message); }
      if (active && !timer) timer = setTimeout(tick, seconds() * 1000);
    };
    return {
      start() { if (!active) { active = true; tick(); } },
      stop() { active = false; clearTimeout(timer); timer = 0; },
    };
  }

  // ---- cameras and live occupancy, per site
  const sites = new Map();  // site name → view
  let fleetSize = 0, updatedAt = 0;

  function addSite(name) {
    const root = $("site-template").content.firstElementChild.cloneNode(true);
    root.dataset.site = name;
    setText(root.querySelector(".site-name"), name);
    const view = {
      name, root, cams: root.querySelector(".site-cams"), people: root.querySelector(".site-people"),
      zoneBody: root.querySelector(".zones tbody"), camBody: root.querySelector(".cameras tbody"),
      more: root.querySelector(".more"), zoneRows: new Map(), camRows: new Map(),
      chart: makeChart(root.querySelector(".occupancy-chart")), series: new Map(), seriesFrom: 0,
      visits: makeVisitsChart(root.querySelector(".visits-chart")),
      levelBox: root.querySelector(".levels"), levels: new Map(),
    };
    sites.set(name, view);
    loadSeries(view).catch(noop);
    loadVisits(view).catch(noop);
    return view;
  }

  async function refreshCameras() {
    const cameras = await api("/v1/cameras");
    fleetSize = cameras.length;
    const bySite = new Map();
    for (const camera of cameras) {
      if (!bySite.has(camera.site)) bySite.set(camera.site, []);
      bySite.get(camera.site).push(camera);
    }
    for (const [name, view] of sites) if (!bySite.has(name)) { view.root.remove(); sites.delete(name); }
    let online = 0, people = 0;
    [...bySite.keys()].sort().forEach((name, index) => {
      const view = sites.get(name) || addSite(name);
      place($("sites"), view.root, index + 1);  // after the "waiting" paragraph
      const seen = renderSite(view, bySite.get(name));
      online += seen.online;
      people += seen.people;
    });
    $("sites-empty").hidden = sites.size > 0;
    setText($("total-cameras"), `${online}/${cameras.length}`);
    setText($("total-people"), people);
    updatedAt = Date.now();
  }

  const peopleOf = (camera) => Object.values(camera.occupancy || {}).reduce((a, b) => a + b, 0);

  function renderSite(view, cameras) {
    const zones = new Map();
    let online = 0, people = 0;
    for (const camera of cameras) {
      if (camera.state !== "online") continue;  // an offline camera's last count is stale
      online += 1;
      for (const [zone, n] of Object.entries(camera.occupancy || {})) {
        zones.set(zone, (zones.get(zone) || 0) + n);
        people += n;
      }
    }
    setText(view.cams, `${online}/${cameras.length} cameras online`);
    view.cams.classList.toggle("degraded", online < cameras.length);
    setText(view.people, people);
    renderZones(view, zones);
    renderCameraRows(view, cameras);
    renderLevels(view, cameras);
    view.root.classList.toggle("gauges-only", cameras.every((c) => c.gauge));  // no people to chart there
    return { online, people };
  }

  function renderZones(view, zones) {
    const names = [...zones.keys()].sort();
    const top = Math.max(1, ...zones.values());
    for (const [name, row] of view.zoneRows) if (!zones.has(name)) { row.tr.remove(); view.zoneRows.delete(name); }
    names.forEach((name, index) => {
      let row = view.zoneRows.get(name);
      if (!row) {
        const tr = el("tr");
        tr.dataset.zone = name;
        row = { tr, name: el("td", "", tr), n: el("td", "", tr), bar: el("i", "", el("td", "bar", tr)) };
        setText(row.name, name);
        view.zoneRows.set(name, row);
      }
      setText(row.n, zones.get(name));
      row.bar.style.width = `${Math.round((100 * zones.get(name)) / top)}%`;
      place(view.zoneBody, row.tr, index);
    });
  }

  function renderCameraRows(view, cameras) {
    // Problems first, then by id; a huge site shows its first rows and a count of the rest.
    cameras.sort((a, b) => (a.state === "online") - (b.state === "online") || a.id.localeCompare(b.id));
    const shown = cameras.slice(0, CFG.maxCameraRows);
    const ids = new Set(shown.map((c) => c.id));
    for (const [id, row] of view.camRows) if (!ids.has(id)) { row.tr.remove(); view.camRows.delete(id); }
    shown.forEach((camera, index) => {
      let row = view.camRows.get(camera.id);
      if (!row) {
        const tr = el("tr");
        tr.dataset.camera = camera.id;
        el("i", "", el("td", "dot", tr));
        row = { tr, id: el("td", "", tr), state: el("td", "state", tr), fps: el("td", "", tr),
                age: el("td", "", tr), people: el("td", "", tr) };
        setText(row.id, camera.id);
        view.camRows.set(camera.id, row);
      }
      if (row.tr.className !== camera.state) row.tr.className = camera.state;
      const state = camera.reason ? `${camera.state}: ${camera.reason}` : camera.state;
      setText(row.state, state);
      row.state.title = state;
      setText(row.fps, camera.fps_analysed != null ? camera.fps_analysed.toFixed(1) : "–");
      setText(row.age, camera.last_frame_age_s != null ? duration(camera.last_frame_age_s) : "–");
      setText(row.people, camera.state === "online" ? peopleOf(camera) : "–");
      place(view.camBody, row.tr, index);
    });
    view.more.hidden = cameras.length <= shown.length;
    setText(view.more, `+${cameras.length - shown.length} more cameras`);
  }

  // ---- per-site time series: mean people per minute, summed over the site's zones (SVG, nodes reused)
  const W = 600, H = 160, LEFT = 34, RIGHT = 6, TOP = 22, BOTTOM = 18;

  function makeChart(figure) {
    const root = figure.querySelector("svg"), grid = root.querySelector(".grid");
    const rules = [0, 1, 2].map(() => ({ line: svg("line", { x1: LEFT, x2: W - RIGHT }, grid),
                                         label: svg("text", { x: LEFT - 4, "text-anchor": "end" }, grid) }));
    const ticks = Array.from({ length: 25 }, () => svg("text", { y: H - 4, "text-anchor": "middle" },
                                                       root.querySelector(".xlabels")));
    setText(figure.querySelector("figcaption"), `people (mean per minute, all zones), last ${CFG.hours} h`);
    return { root, rules, ticks, area: root.querySelector(".area"), line: root.querySelector(".line"),
             now: root.querySelector(".chart-now") };
  }

  async function loadSeries(view) {
    const now = Date.now() / 1000;
    const windowStart = Math.floor((now - CFG.hours * 3600) / 60) * 60;
    // Refetch the last few buckets each time: the newest one is still filling, and counts may arrive late.
    const from = Math.max(view.seriesFrom - 300, windowStart);
    let items = [];
    try {
      const query = qs({ site: view.name, from, to: Math.ceil(now) + 60, bucket: "1m" });
      items = (await api(`/v1/counts?${query}`)).items;
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404)) throw error;  // 404: no counts for it yet
    }
    const fresh = new Map();
    for (const item of items) {
      if (item.kind !== "zone") continue;
      fresh.set(item.start, (fresh.get(item.start) || 0) + item.occupancy_mean);
    }
    for (const t of view.series.keys()) if (t >= from || t < windowStart) view.series.delete(t);
    for (const [t, value] of fresh) view.series.set(t, value);
    if (fresh.size) view.seriesFrom = Math.max(view.seriesFrom, ...fresh.keys());
    drawChart(view.chart, view.series, windowStart, Math.floor(now / 60) * 60 + 60);
  }

  function niceMax(value) {
    const step = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 5, 10].map((m) => m * step).find((m) => m >= value);
  }

  function drawChart(chart, series, t0, t1) {
    const points = [...series].sort((a, b) => a[0] - b[0]);
    const top = niceMax(Math.max(1, ...points.map((p) => p[1])));
    const x = (t) => (LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT)).toFixed(1);
    const y = (v) => (TOP + (1 - v / top) * (H - TOP - BOTTOM)).toFixed(1);
    chart.rules.forEach((rule, i) => {
      const value = (top * i) / 2, at = y(value);
      rule.line.setAttribute("y1", at);
      rule.line.setAttribute("y2", at);
      rule.label.setAttribute("y", +at + 4);
      setText(rule.label, Number.isInteger(value) ? value : value.toFixed(1));
    });
    let line = "", area = "", first = null, prev = null;
    const closeArea = () => { if (first !== null) area += `L${x(prev + 30)},${y(0)}L${x(first + 30)},${y(0)}Z`; };
    for (const [t, value] of points) {  // a gap of more than two buckets breaks the line
      const gap = prev === null || t - prev > 120;
      if (gap) { closeArea(); first = t; }
      line += `${gap ? "M" : "L"}${x(t + 30)},${y(value)}`;
      area += `${gap ? "M" : "L"}${x(t + 30)},${y(value)}`;
      prev = t;
    }
    closeArea();
    chart.line.setAttribute("d", line);
    chart.area.setAttribute("d", area);
    drawHourTicks(chart, t0, t1, x);
    const last = points.length ? points[points.length - 1][1] : null;
    const peak = points.length ? Math.max(...points.map((p) => p[1])) : null;
    setText(chart.now, last === null ? "no counts yet" : `now ${last.toFixed(1)} · peak ${peak.toFixed(1)}`);
    chart.root.dataset.last = last === null ? "" : String(last);
  }

  // ---- visits per day over the last 30 days (/v1/visits: by the site's counting plan), one bar per local day of the
  // deployment's time zone (the answer names it), today's last; days without counts are empty bars.
  const DAYS = 30, VH = 150, VBOTTOM = 32, DAY_MS = 86400000;  // VBOTTOM: room for the day and month labels
  let deploymentZone;  // from the first answer that names it (a 404 does not); until then the screen's
  const month = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" });
  const longDate = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short",
                                                        year: "numeric", timeZone: "UTC" });
  const count = new Intl.NumberFormat();

  function localToday(timeZone) {  // today in that zone, as the UTC midnight of its date (ms)
    const parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "numeric", day: "numeric" })
      .formatToParts(new Date());
    const part = (type) => +parts.find((p) => p.type === type).value;
    return Date.UTC(part("year"), part("month") - 1, part("day"));
  }

  function makeVisitsChart(figure) {
    const root = figure.querySelector("svg"), grid = root.querySelector(".grid");
    const bars = root.querySelector(".bars"), labels = root.querySelector(".xlabels");
    const rules = [0, 1, 2].map(() => ({ line: svg("line", { x1: LEFT, x2: W - RIGHT }, grid),
                                         label: svg("text", { x: LEFT - 4, "text-anchor": "end" }, grid) }));
    const step = (W - LEFT - RIGHT) / DAYS;
    const days = Array.from({ length: DAYS }, (_, i) => {
      const middle = (LEFT + (i + 0.5) * step).toFixed(1);
      const bar = svg("rect", { x: (LEFT + i * step + 2).toFixed(1), width: (step - 4).toFixed(1),
                                y: VH - VBOTTOM, height: 0 }, bars);
      if (i === DAYS - 1) bar.classList.add("today");  // still filling
      return { bar, tip: svg("title", {}, bar), day: svg("text", { x: middle, y: VH - 18, "text-anchor": "middle" },
                                                         labels),
               month: svg("text", { x: middle, y: VH - 4, "text-anchor": "middle" }, labels) };
    });
    setText(figure.querySelector("figcaption"), `visits per day, last ${DAYS} days`);
    return { root, rules, days, now: root.querySelector(".chart-now"), byDay: null };
  }

  async function loadVisits(view) {
    const now = Date.now() / 1000;
    let body = { items: [] };
    try {  // the API widens from and to to whole local days
      const query = qs({ site: view.name, from: Math.floor(now - (DAYS - 1) * 86400), to: Math.ceil(now) + 1,
                         bucket: "day" });
      body = await api(`/v1/visits?${query}`);
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404)) throw error;  // 404: no counts for it yet
    }
    view.visits.byDay = new Map(body.items.map((item) => [item.period, item]));  // the last answer: ≤ 31 days
    if (body.timezone && body.timezone !== deploymentZone) {  // charts drawn before had the screen's days
      deploymentZone = body.timezone;
      for (const other of sites.values()) if (other.visits.byDay) drawVisits(other.visits);
    } else {
      drawVisits(view.visits);
    }
  }

  function drawVisits(chart) {
    const byDay = chart.byDay, today = localToday(deploymentZone);
    const shown = chart.days.map((_, i) => {
      const date = today - (DAYS - 1 - i) * DAY_MS;
      return { date, item: byDay.get(new Date(date).toISOString().slice(0, 10)) };
    });
    const visits = shown.map((day) => (day.item ? day.item.visits : 0));
    const total = visits.reduce((a, b) => a + b, 0);
    const top = niceMax(Math.max(1, ...visits));
    const y = (v) => VH - VBOTTOM - (v / top) * (VH - TOP - VBOTTOM);
    chart.rules.forEach((rule, i) => {
      const value = (top * i) / 2, at = y(value).toFixed(1);
      rule.line.setAttribute("y1", at);
      rule.line.setAttribute("y2", at);
      rule.label.setAttribute("y", +at + 4);
      setText(rule.label, Number.isInteger(value) ? value : value.toFixed(1));
    });
    shown.forEach(({ date, item }, i) => {
      const day = chart.days[i], when = new Date(date);
      day.bar.setAttribute("y", y(visits[i]).toFixed(1));
      day.bar.setAttribute("height", (VH - VBOTTOM - y(visits[i])).toFixed(1));
      day.bar.dataset.period = when.toISOString().slice(0, 10);
      day.bar.dataset.visits = visits[i];
      const stay = item && item.dwell_mean_s != null ? `, mean stay ${duration(item.dwell_mean_s)}` : "";
      setText(day.tip, `${longDate.format(when)}: ${count.format(visits[i])} visits${stay}`);
      setText(day.day, when.getUTCDate());
      setText(day.month, i === 0 || when.getUTCDate() === 1 ? month.format(when) : "");
    });
    setText(chart.now, byDay.size ? `today ${count.format(visits[DAYS - 1])} · ${DAYS} days ${count.format(total)}`
                                  : "no visits yet");
  }

  // ---- water levels of the site's gauge cameras (/v1/levels): the last hours, with the camera's alarm levels as
  // horizontal lines; uncertain readings break the line and are marked along the bottom.
  const LH = 180;  // the level chart's height (its viewBox is W × LH)

  function renderLevels(view, cameras) {
    const gauges = cameras.filter((c) => c.gauge).sort((a, b) => a.id.localeCompare(b.id));
    const ids = new Set(gauges.map((c) => c.id));
    for (const [id, chart] of view.levels) if (!ids.has(id)) { chart.root.remove(); view.levels.delete(id); }
    gauges.forEach((camera, index) => {
      let chart = view.levels.get(camera.id);
      if (!chart) {
        view.levels.set(camera.id, (chart = makeLevelChart(camera.id)));
        loadLevels(chart).catch(noop);
      }
      place(view.levelBox, chart.root, index);
    });
  }

  function makeLevelChart(camera) {
    const root = $("level-template").content.firstElementChild.cloneNode(true);
    root.dataset.gauge = camera;
    const box = root.querySelector("svg"), grid = box.querySelector(".grid");
    const rules = [0, 1, 2].map(() => ({ line: svg("line", { x1: LEFT, x2: W - RIGHT }, grid),
                                         label: svg("text", { x: LEFT - 4, "text-anchor": "end" }, grid) }));
    const ticks = Array.from({ length: 25 }, () => svg("text", { y: LH - 4, "text-anchor": "middle" },
                                                       box.querySelector(".xlabels")));
    setText(root.querySelector("figcaption"), `${camera}: water level (cm), last ${CFG.hours} h`);
    return { camera, root, box, rules, ticks, band: box.querySelector(".band"), line: box.querySelector(".line"),
             uncertain: box.querySelector(".uncertain"), alarmBox: box.querySelector(".alarm-lines"),
             now: box.querySelector(".chart-now"), alarmKey: "", alarms: [] };
  }

  async function loadLevels(chart) {
    const now = Date.now() / 1000, t0 = now - CFG.hours * 3600, t1 = now + 60;
    let body = { bucket: null, readings: [], buckets: [], alarm_levels: null };
    try {
      body = await api(`/v1/levels?${qs({ camera: chart.camera, from: Math.floor(t0), to: Math.ceil(t1) })}`);
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404)) throw error;  // 404: nothing known of it yet
    }
    drawLevels(chart, body, t0, t1);
  }

  function levelPoints(body) {  // raw readings or buckets as {t, v (null: uncertain), lo, hi, uncertain}
    if (body.bucket === null) {
      return body.readings.map((r) => {
        const uncertain = r.status === "uncertain" || r.level_cm === null;
        return { t: r.t, v: uncertain ? null : r.level_cm, lo: null, hi: null, uncertain };
      });
    }
    return body.buckets.map((b) => ({ t: (b.start + b.end) / 2, v: b.mean_cm, lo: b.min_cm, hi: b.max_cm,
                                      uncertain: b.uncertain > 0 }));
  }

  function drawLevels(chart, body, t0, t1) {
    const points = levelPoints(body);
    const alarms = Object.entries(body.alarm_levels || {}).sort((a, b) => a[1] - b[1]);
    const values = [...alarms.map((a) => a[1])];
    for (const p of points) if (p.v !== null) values.push(p.v, p.lo ?? p.v, p.hi ?? p.v);
    const top = niceMax(Math.max(1, ...values) * 1.1);
    const bottom = Math.min(0, ...values) < 0 ? -niceMax(-Math.min(...values) * 1.1) : 0;
    const x = (t) => (LEFT + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (W - LEFT - RIGHT)).toFixed(1);
    const y = (v) => (TOP + (1 - (v - bottom) / (top - bottom)) * (LH - TOP - BOTTOM)).toFixed(1);
    chart.rules.forEach((rule, i) => {
      const value = bottom + ((top - bottom) * i) / 2, at = y(value);
      rule.line.setAttribute("y1", at);
      rule.line.setAttribute("y2", at);
      rule.label.setAttribute("y", +at + 4);
      setText(rule.label, Number.isInteger(value) ? value : value.toFixed(1));
    });
    // A reading further from the previous one than a few of the usual steps breaks the line, as does an uncertain one.
    const steps = points.slice(1).map((p, i) => p.t - points[i].t).sort((a, b) => a - b);
    const gapS = body.bucket === null ? Math.max(120, 5 * (steps[steps.length >> 1] || 0))
                                      : 1.5 * (body.buckets.length ? body.buckets[0].end - body.buckets[0].start : 60);
    let line = "", band = "", run = [], prev = null;
    const closeRun = () => {
      if (run.length && run[0].lo !== null) {
        band += `M${run.map((p) => `${x(p.t)},${y(p.hi)}`).join("L")}`;
        band += `L${run.reverse().map((p) => `${x(p.t)},${y(p.lo)}`).join("L")}Z`;
      }
      run = [];
    };
    for (const p of points) {
      if (p.v === null) { closeRun(); prev = null; continue; }
      const gap = prev === null || p.t - prev > gapS;
      if (gap) closeRun();
      line += `${gap ? "M" : "L"}${x(p.t)},${y(p.v)}`;
      run.push(p);
      prev = p.t;
    }
    closeRun();
    chart.line.setAttribute("d", line);
    chart.band.setAttribute("d", band);
    const marks = new Set(points.filter((p) => p.uncertain).map((p) => x(p.t)));
    chart.uncertain.setAttribute("d", [...marks].map((at) => `M${at},${LH - BOTTOM}v-8`).join(""));
    drawAlarmLines(chart, alarms, y);
    drawHourTicks(chart, t0, t1, x);
    const known = points.filter((p) => p.v !== null);
    const last = known.length ? known[known.length - 1].v : null;
    const newest = points.length ? points[points.length - 1] : null;
    setText(chart.now, last === null ? (points.length ? "level uncertain" : "no readings yet")
                                     : `now ${last.toFixed(1)} cm${newest.v === null ? " (latest uncertain)" : ""}`);
    Object.assign(chart.root.dataset, { last: last === null ? "" : String(last), points: String(points.length),
                                        uncertain: String(points.filter((p) => p.uncertain).length),
                                        bucket: body.bucket || "raw" });
  }

  function drawAlarmLines(chart, alarms, y) {  // nodes rebuilt only when the camera's levels change
    const key = JSON.stringify(alarms);
    if (key !== chart.alarmKey) {
      chart.alarmKey = key;
      chart.alarmBox.replaceChildren();
      chart.alarms = alarms.map(([name, cm], i) => {  // the highest level is the most severe
        const g = svg("g", { class: `alarm r${Math.min(alarms.length - 1 - i, 2)}`, "data-alarm": name,
                             "data-cm": cm }, chart.alarmBox);
        const label = svg("text", { x: W - RIGHT - 2, "text-anchor": "end" }, g);
        setText(label, `${name} ${cm} cm`);
        return { cm, line: svg("line", { x1: LEFT, x2: W - RIGHT }, g), label };
      });
    }
    for (const alarm of chart.alarms) {
      const at = y(alarm.cm);
      alarm.line.setAttribute("y1", at);
      alarm.line.setAttribute("y2", at);
      alarm.label.setAttribute("y", +at - 3);
    }
  }

  // ---- alarms: open incidents by incident_id, and the history of state changes
  const incidents = new Map();  // incident_id → its open event
  const closed = new Map();     // recently closed incident ids, so a replayed "raised" cannot reopen one
  const cards = new Map();      // incident_id → card view
  const recent = new Map();     // event id → event, the newest CFG.historySize
  const handled = new Map();    // incident_id → {acknowledged, resolved}: what operators did (each null or {by, at, comment})
  const historyRows = new Map();
  let renderQueued = false;
  const when = (e) => e.end ?? e.start;

  function applyEvent(event) {
    recent.set(event.id, event);
    for (const action of ["acknowledged", "resolved"]) if (event[action]) noteHandled(event.incident_id, action, event[action]);
    if (TERMINAL.has(event.state) || handled.get(event.incident_id)?.resolved) {
      incidents.delete(event.incident_id);
      closed.set(event.incident_id, true);
      if (closed.size > CFG.closedMemory) closed.delete(closed.keys().next().value);
    } else if (!closed.has(event.incident_id)) {
      incidents.set(event.incident_id, event);
    }
    if (!renderQueued) { renderQueued = true; setTimeout(renderAlarms, 50); }  // coalesce bursts
  }

  function noteHandled(incident, action, done) {
    handled.set(incident, { ...(handled.get(incident) || {}), [action]: done });
    if (handled.size > CFG.closedMemory) handled.delete(handled.keys().next().value);
  }

  function applyHandled(note) {  // an operator acknowledged or resolved an alarm (here or on another console)
    noteHandled(note.incident_id, note.action, { by: note.by, at: note.at, comment: note.comment });
    if (note.action === "resolved") {
      incidents.delete(note.incident_id);
      closed.set(note.incident_id, true);
    }
    if (!renderQueued) { renderQueued = true; setTimeout(renderAlarms, 50); }
  }

  async function handle(card, action) {
    const comment = card.comment.value.trim();
    const verb = action === "acknowledged" ? "acknowledge" : "resolve";
    let answer;
    try { answer = await post(`/v1/events/${encodeURIComponent(card.eventId)}/${verb}`, { comment }); }
    catch (error) { setText(card.message, "not sent: the API did not answer"); return; }
    if (answer.ok) {
      card.comment.value = "";
      setText(card.message, "");
      applyHandled({ incident_id: card.incident, action, ...answer.body[action] });
    } else {
      setText(card.message, answer.status === 403 ? "needs a token with the operator scope"
                            : String(answer.body.detail || `HTTP ${answer.status}`));
    }
  }

  function renderAlarms() {
    renderQueued = false;
    const active = [...incidents.values()].sort((a, b) =>
      PRIORITY[a.type] - PRIORITY[b.type] || b.start - a.start);
    const shown = active.slice(0, CFG.maxAlarmCards);
    const ids = new Set(shown.map((e) => e.incident_id));
    for (const [id, card] of cards) if (!ids.has(id)) { dropCard(card); cards.delete(id); }
    shown.forEach((event, index) => {
      let card = cards.get(event.incident_id);
      if (!card) cards.set(event.incident_id, (card = makeCard(event)));
      updateCard(card, event);
      place($("alarms"), card.root, index);
    });
    $("alarms-empty").hidden = active.length > 0;
    setText($("alarms-empty"), "no active alarms");
    setText($("total-alarms"), active.length);
    $("total-alarms").classList.toggle("alarming", active.length > 0);
    if (active.length > shown.length) { $("alarms-empty").hidden = false;
      setText($("alarms-empty"), `+${active.length - shown.length} more active alarms`); }
    renderHistory();
  }

  function makeCard(event) {
    const root = el("div", `alarm ${event.type}`);
    root.dataset.incident = event.incident_id;
    root.dataset.type = event.type;
    const card = { root, title: el("div", "title", root), media: el("div", "media", root),
                   where: el("div", "where", root), detail: el("div", "detail", root),
                   since: el("div", "since", root), start: event.start, blob: null, gone: false,
                   incident: event.incident_id, eventId: event.id, clipTries: 0 };
    const form = el("div", "handle", root);
    card.handledBy = el("div", "handled-by", form);
    card.comment = el("input", "comment", form);
    card.comment.placeholder = "comment";
    card.comment.maxLength = 500;
    card.ack = el("button", "ack", form);
    setText(card.ack, "Acknowledge");
    card.ack.type = "button";
    card.ack.addEventListener("click", () => handle(card, "acknowledged"));
    card.resolve = el("button", "resolve", form);
    setText(card.resolve, "Resolve");
    card.resolve.type = "button";
    card.resolve.addEventListener("click", () => handle(card, "resolved"));
    card.message = el("div", "handle-message", form);
    if (event.type === "flood_level") {
      const g = svg("svg", { class: "gauge", viewBox: "0 0 72 104", width: 72, height: 104 }, card.media);
      svg("rect", { class: "tube", x: 4, y: 4, width: 18, height: 92, rx: 3 }, g);
      card.gauge = { water: svg("rect", { class: "water", x: 5, width: 16 }, g),
                     mark: svg("line", { x1: 0, x2: 26 }, g), label: svg("text", { x: 28 }, g),
                     level: svg("text", { x: 28, y: 100 }, g) };
    }
    if (event.type === "parking_violation" || event.snapshot_url) card.img = el("img", "", card.media);
    return card;
  }

  function updateCard(card, event) {
    const p = event.payload || {};
    const zone = p.zone || event.key;
    setText(card.title, event.type === "flood_level" ? `${TITLES[event.type]}: ${p.alarm || event.key}`
                                                     : TITLES[event.type] || event.type);
    setText(card.where, `${event.site} · ${event.camera}${zone ? ` · ${zone}` : ""}`);
    let detail = "";
    if (event.type === "flood_level") {
      detail = `water ${p.level_cm ?? "?"} cm (alarm at ${p.threshold_cm ?? "?"} cm)`;
      drawGauge(card.gauge, +p.level_cm || 0, +p.threshold_cm || 0);
    } else if (event.type === "flood_rise") {
      detail = `rising ${p.rate_cm_per_min ?? "?"} cm/min (alarm at ${p.threshold_cm_per_min ?? "?"}), water ${p.level_cm ?? "?"} cm`;
    } else if (event.type === "parking_violation") {
      detail = `${p.class || "vehicle"} stopped over ${duration(p.limit_s || 0)}`;
    } else if (event.type === "crowding") {
      detail = `${p.occupancy ?? "?"} people (limit ${p.limit ?? "?"}, peak ${p.peak ?? "?"})`;
    } else if (event.type === "intrusion") {
      detail = `${p.count ?? "?"} in a restricted zone${p.hours ? ` (${p.hours})` : ""}`;
    }
    setText(card.detail, detail);
    if (card.img) {
      const url = event.snapshot_url || event.crop_url;
      if (url && card.snapshotFor !== url) loadSnapshot(card, url);
      if (!url && !card.snapshotFor) card.img.alt = "no snapshot";
    }
    showClip(card, event);
    const done = handled.get(event.incident_id) || {};
    const ack = done.acknowledged;
    setText(card.handledBy, ack ? `acknowledged by ${ack.by} at ${timeOf(ack.at)}${ack.comment ? `: ${ack.comment}` : ""}` : "");
    card.root.classList.toggle("acknowledged", Boolean(ack));
    card.ack.hidden = Boolean(ack);
    card.start = event.start;
    updateSince(card);
  }

  function showClip(card, event) {  // the clip is cut a few seconds after the alarm: look again until it is there
    if (event.clip_url && !card.clipUrl) {
      card.clipUrl = event.clip_url;
      const button = el("button", "clip-button", card.media);
      button.type = "button";
      setText(button, "▶ clip");
      button.addEventListener("click", () => loadClip(card, button));
    } else if (!event.clip_url && !card.clipUrl && card.clipTries < 6 && !card.clipTimer) {
      card.clipTimer = setTimeout(async () => {
        card.clipTimer = 0;
        card.clipTries += 1;
        try { if (!card.gone) applyEvent(await api(`/v1/events/${encodeURIComponent(event.id)}`)); } catch (error) { /* next render */ }
      }, 5000);
    }
  }

  async function loadClip(card, button) {
    try {
      const blob = await api(card.clipUrl, true);
      if (card.gone) return;
      card.clipBlob = URL.createObjectURL(blob);
      const video = el("video", "clip", card.media);
      Object.assign(video, { src: card.clipBlob, controls: true, muted: true, autoplay: true, playsInline: true });
      button.remove();
    } catch (error) {
      setText(card.message, "the clip needs a token with the operator scope");
    }
  }

  function drawGauge(gauge, level, threshold) {
    const scale = Math.max(level, threshold, 1) * 1.25;
    const y = (cm) => 96 - (Math.min(cm, scale) / scale) * 92;
    gauge.water.setAttribute("y", y(level));
    gauge.water.setAttribute("height", 96 - y(level));
    gauge.mark.setAttribute("y1", y(threshold));
    gauge.mark.setAttribute("y2", y(threshold));
    gauge.label.setAttribute("y", y(threshold) + 3);
    setText(gauge.label, `${threshold}`);
    setText(gauge.level, `${level} cm`);
  }

  async function loadSnapshot(card, url) {  // the image needs the token: fetch it, show it as a blob URL
    card.snapshotFor = url;
    try {
      const blob = await api(url.startsWith("/") ? url : `/${url}`, true);
      if (card.gone || card.snapshotFor !== url) return;
      if (card.blob) URL.revokeObjectURL(card.blob);
      card.blob = URL.createObjectURL(blob);
      card.img.src = card.blob;
      card.img.alt = "evidence snapshot";
    } catch (error) {
      if (!card.gone) card.img.alt = "snapshot unavailable";
    }
  }

  function dropCard(card) {
    card.gone = true;
    clearTimeout(card.clipTimer);
    if (card.clipBlob) URL.revokeObjectURL(card.clipBlob);
    if (card.blob) URL.revokeObjectURL(card.blob);
    card.blob = null;
    card.root.remove();
  }

  function updateSince(card) {
    setText(card.since, `since ${timeOf(card.start)} (${duration(Date.now() / 1000 - card.start)})`);
  }

  function renderHistory() {
    const events = [...recent.values()].sort((a, b) => when(b) - when(a) || (a.id < b.id ? 1 : -1));
    for (const old of events.splice(CFG.historySize)) recent.delete(old.id);
    for (const [id, li] of historyRows) if (!recent.has(id)) { li.remove(); historyRows.delete(id); }
    events.forEach((event, index) => {
      let li = historyRows.get(event.id);
      if (!li) {
        li = el("li");
        li.dataset.event = event.id;
        setText(el("time", "", li), timeOf(when(event)));
        const p = event.payload || {};
        const level = event.type === "flood_level" && p.level_cm != null ? ` ${p.level_cm} cm` : "";
        setText(el("span", "", li), `${TITLES[event.type] || event.type}${level} · ${event.site} · ${event.camera}`);
        setText(el("span", `state ${event.state}`, li), event.state);
        el("span", "handled", li);
        historyRows.set(event.id, li);
      }
      const done = handled.get(event.incident_id) || {};
      const last = done.resolved ? ["resolved", done.resolved] : done.acknowledged ? ["acknowledged", done.acknowledged] : null;
      setText(li.querySelector(".handled"), last ? `${last[0]} by ${last[1].by}` : "");
      place($("history"), li, index);
    });
    $("history-empty").hidden = events.length > 0;
  }

  async function resyncEvents() {  // what the stream cannot replay: read the store, merge (idempotent)
    const since = Math.floor(Date.now() / 1000 - CFG.resyncHours * 3600);
    const fetched = [];
    let cursor = null;
    for (let page = 0; page < 3; page++) {
      const body = await api(`/v1/events?${qs({ since, limit: 500, cursor })}`);
      fetched.push(...body.items);
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    fetched.reverse().forEach(applyEvent);  // oldest first
    renderAlarms();
  }

  // ---- the live stream (SSE). EventSource cannot send headers: the token goes in ?access_token=.
  const stream = { source: null, retry: 0, timer: 0, silence: 0, broken: false };

  function setLive(state, text = state) {
    const indicator = $("live");
    if (indicator.className !== `indicator ${state}`) indicator.className = `indicator ${state}`;
    setText(indicator.querySelector("b"), text);
  }

  function openStream() {
    closeStream();
    const source = new EventSource(`${base}/v1/events/stream${token ? `?${qs({ access_token: token })}` : ""}`);
    stream.source = source;
    source.onopen = () => {
      stream.retry = 0;
      setLive("live");
      armSilence();
      if (stream.broken) { stream.broken = false; resyncEvents().catch(noop); }  // catch up on the gap
    };
    source.addEventListener("event", (message) => {
      armSilence();
      try {
        const event = JSON.parse(message.data);
        const fresh = !recent.has(event.id) && (event.state === "raised" || event.state === "started");
        applyEvent(event);
        if (fresh) alarmSound();
      } catch (error) { console.warn("bad event", error); }
    });
    source.addEventListener("handled", (message) => {
      armSilence();
      try { applyHandled(JSON.parse(message.data)); } catch (error) { console.warn("bad note", error); }
    });
    source.onerror = () => {
      if (stream.source !== source) return;
      stream.broken = true;
      setLive("reconnecting");
      // CONNECTING: the server closed the stream and EventSource retries by itself. CLOSED: it was
      // refused (401, 503, …) and EventSource gave up: we retry, after checking the token.
      if (source.readyState === EventSource.CLOSED) scheduleReconnect();
    };
  }

  function closeStream() {
    clearTimeout(stream.timer);
    clearTimeout(stream.silence);
    stream.timer = stream.silence = 0;
    if (stream.source) { stream.source.close(); stream.source = null; }
  }

  function scheduleReconnect() {  // capped exponential backoff with jitter
    closeStream();
    const delay = Math.min(30000, 1000 * 2 ** Math.min(stream.retry++, 5)) * (0.5 + Math.random() / 2);
    stream.timer = setTimeout(async () => {
      try { await api("/v1/events?limit=1"); } catch (error) { if (error instanceof AuthError) return; }
      if (!authBroken) openStream();
    }, delay);
  }

  function armSilence() {  // keepalives are invisible to EventSource: reopen a stream silent this long
    clearTimeout(stream.silence);
    stream.silence = setTimeout(() => { stream.broken = true; openStream(); }, CFG.silenceS * 1000);
  }

  // ---- start, stop, token
  const cameraPoller = poller(refreshCameras,  // a city-size fleet: a lighter pace for the big list
                              () => (fleetSize > 2000 ? Math.max(15, CFG.cameraPollS) : CFG.cameraPollS));
  const seriesPoller = poller(async () => { for (const view of sites.values()) await loadSeries(view); },
                              () => CFG.seriesPollS);
  const levelsPoller = poller(async () => {
    for (const view of sites.values()) for (const chart of view.levels.values()) await loadLevels(chart);
  }, () => CFG.levelsPollS);
  const visitsPoller = poller(async () => { for (const view of sites.values()) await loadVisits(view); },
                              () => CFG.visitsPollS);

  function startAll() {
    authBroken = false;
    setLive("connecting");
    cameraPoller.start();
    seriesPoller.start();
    levelsPoller.start();
    visitsPoller.start();
    resyncEvents().catch(noop);
    openStream();
  }

  function stopAll() {
    cameraPoller.stop();
    seriesPoller.stop();
    levelsPoller.stop();
    visitsPoller.stop();
    closeStream();
  }

  function authFailed(status) {
    if (authBroken) return;
    authBroken = true;
    stopAll();
    setLive("auth", status === 403 ? "token lacks read scope" : "token refused");
    showTokenForm(status === 403 ? "This token lacks the read scope."
                  : token ? "The token was refused. Enter a valid one." : "The API needs a token.", true);
  }

  function showTokenForm(message, error) {
    setText($("token-message"), message);
    $("token-message").classList.toggle("error", error);
    $("token-overlay").hidden = false;
    $("token-input").value = "";
    $("token-input").focus();
  }

  $("token-form").addEventListener("submit", (submit) => {
    submit.preventDefault();
    token = $("token-input").value.trim();
    if (token) localStorage.setItem(KEY, token); else localStorage.removeItem(KEY);
    $("token-overlay").hidden = true;
    stopAll();
    startAll();
  });
  $("token-forget").addEventListener("click", () => {
    token = "";
    localStorage.removeItem(KEY);
    showTokenForm("Token forgotten. Enter a token with the read scope.", false);
  });
  $("token-button").addEventListener("click", () => showTokenForm("Enter a token with the read scope.", false));
  $("token-overlay").addEventListener("click", (click) => {
    if (click.target === $("token-overlay") && !authBroken) $("token-overlay").hidden = true;
  });
  window.addEventListener("online", () => { if (!authBroken) { stream.broken = true; openStream(); } });

  setInterval(() => {  // the one periodic timer of the page itself: clock, ages, staleness
    setText($("clock"), clock.format(new Date()));
    for (const card of cards.values()) updateSince(card);
    const age = (Date.now() - updatedAt) / 1000;
    setText($("updated"), updatedAt ? `cameras updated ${duration(age)} ago` : "no data yet");
    $("updated").classList.toggle("stale", updatedAt > 0 && age > 3 * CFG.cameraPollS + 5);
  }, 1000);

  startAll();
})();
