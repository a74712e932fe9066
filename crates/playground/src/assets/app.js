// The playground's page: a client of the JSON API in src/playground/API.md.
// The server trains and computes every picture's numbers; the page only
// sends settings and commands, and paints what the frames carry.
"use strict";

const $ = (id) => document.getElementById(id);

// ColorBrewer's Spectral, in the order micrograd's plots give classes
// (src/viz/plot.rs): its two ends first, then its strongest colours.
const CLASS_COLORS = [
  [0x9e, 0x01, 0x42], [0x5e, 0x4f, 0xa2], [0x66, 0xc2, 0xa5], [0xfd, 0xae, 0x61],
  [0x32, 0x88, 0xbd], [0xd5, 0x3e, 0x4f], [0xab, 0xdd, 0xa4], [0xf4, 0x6d, 0x43],
  [0xfe, 0xe0, 0x8b], [0xe6, 0xf5, 0x98], [0xff, 0xff, 0xbf],
];
// A neuron's output: negative towards orange, positive towards blue.
const NEGATIVE = [0xf4, 0x6d, 0x43];
const POSITIVE = [0x32, 0x88, 0xbd];
// The most points the curves keep; beyond, every other one goes.
const CURVE_POINTS = 2000;

const state = {
  options: null,
  info: null, // the session, as the server last described it
  generation: -1,
  events: null,
  history: [], // [step, loss, accuracy]
  focus: null, // [layer, neuron] enlarged
  graph: null, // the graph shown: {svg, request}
  boundaryImage: null,
};

// ---- talking to the server -------------------------------------------

class ApiError extends Error {}

async function api(method, path, body, raw) {
  const init = { method, headers: {} };
  if (raw !== undefined) {
    init.body = raw;
    init.headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const error = await response.json();
      if (error && error.error) message = error.error;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiError(message);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.startsWith("application/json") ? response.json() : response.blob();
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// Runs an action; an error from the server is shown, not thrown.
async function attempt(action) {
  try {
    const result = await action();
    return result;
  } catch (e) {
    showError(e instanceof ApiError ? e.message : `unexpected: ${e.message}`);
    return undefined;
  }
}

function sessionPath(rest) {
  return `/api/sessions/${state.info.id}${rest}`;
}

// ---- settings ----------------------------------------------------------

function fillSelect(select, names) {
  select.replaceChildren(...names.map((name) => new Option(name, name)));
}

function parseWidths(text) {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  return trimmed.split(",").map((w) => {
    const n = Number(w.trim());
    if (!Number.isInteger(n) || n < 1) throw new ApiError(`\`${w.trim()}\` is not a layer width`);
    return n;
  });
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

// Every setting, as the controls show it.
function currentSettings() {
  const s = {
    dataset: $("dataset").value,
    seed: Number($("seed").value) || 0,
    hidden: parseWidths($("hidden-layers").value),
    activation: $("activation").value,
    loss: $("loss").value,
    optimizer: $("optimizer").value,
    lr: Number($("lr").value),
    schedule: $("schedule").value,
    l2: Number($("l2").value) || 0,
    speed: Number($("speed").value),
  };
  if (s.dataset !== "lecture" && s.dataset !== "upload") {
    s.points = numberOrNull($("points"));
    s.noise = numberOrNull($("noise"));
  }
  const batch = numberOrNull($("batch"));
  if (batch !== null) s.batch = batch;
  for (const key of Object.keys(s)) if (s[key] === null) delete s[key];
  return s;
}

function showSettings(settings) {
  $("dataset").value = settings.dataset;
  $("points").value = settings.points;
  $("noise").value = settings.noise ?? "";
  const drawn = settings.noise !== null;
  $("points").disabled = !drawn;
  $("noise").disabled = !drawn;
  $("seed").value = settings.seed;
  $("hidden-layers").value = settings.hidden.join(",");
  $("activation").value = settings.activation;
  $("loss").value = settings.loss;
  $("optimizer").value = settings.optimizer;
  $("lr").value = Number(settings.lr.toPrecision(6));
  $("schedule").value = settings.schedule;
  $("batch").value = settings.batch ?? "";
  $("l2").value = settings.l2;
  const speed = String(settings.speed);
  if (![...$("speed").options].some((o) => o.value === speed)) $("speed").add(new Option(`${speed} steps/s`, speed));
  $("speed").value = speed;
}

async function configure(settings) {
  const info = await attempt(() => api("POST", sessionPath("/settings"), settings));
  if (info) {
    clearError();
    applyInfo(info);
  } else if (state.info) {
    showSettings(state.info.settings); // the controls go back to what trains
  }
}

// ---- the session -------------------------------------------------------

function applyInfo(info) {
  state.info = info;
  state.generation = info.generation;
  state.history = [];
  state.boundaryImage = null;
  showSettings(info.settings);
  const d = info.data;
  const classes = d.task === "regression" ? "real-valued targets" : `${d.classes.length} classes`;
  $("data-summary").textContent = `${d.name}: ${d.points} points, ${d.features} features, ${classes}`;
  $("point").max = d.points - 1;
  const n = info.network;
  $("network-summary").textContent = `MLP ${n.widths.join("-")}, ${n.parameters} parameters`;
  buildNetwork(info);
  $("boundary-note").hidden = d.extent !== null;
  $("boundary-note").textContent = d.extent === null
    ? `The pictures over the plane need points with two features; these have ${d.features}.` : "";
  $("save-model").href = sessionPath("/model");
  $("save-boundary-svg").href = sessionPath("/boundary.svg");
  $("save-curves-svg").href = sessionPath("/curves.svg");
  showStatus(info.status);
  drawBoundary();
  drawCurves();
}

function showStatus(status) {
  $("step-count").textContent = status.step;
  $("play").disabled = status.playing || status.stopped !== null;
  $("pause").disabled = !status.playing;
  $("step").disabled = status.stopped !== null;
  if (status.loss !== null && status.loss !== undefined) $("loss-value").textContent = formatLoss(status.loss);
  else $("loss-value").textContent = "–";
  $("accuracy").textContent = formatAccuracy(status.accuracy);
}

function formatLoss(loss) {
  if (!Number.isFinite(loss)) return String(loss);
  return loss >= 1000 || (loss !== 0 && loss < 0.001) ? loss.toExponential(3) : loss.toFixed(4);
}

function formatAccuracy(accuracy) {
  return accuracy === null || accuracy === undefined ? "–" : `${(accuracy * 100).toFixed(1)}%`;
}

function connect() {
  if (state.events) state.events.close();
  const events = new EventSource(sessionPath("/events"));
  state.events = events;
  events.addEventListener("frame", (e) => onFrame(JSON.parse(e.data)));
  events.addEventListener("stopped", (e) => {
    const stopped = JSON.parse(e.data);
    if (stopped.generation === state.generation) showError(`Training stopped at step ${stopped.step}: ${stopped.message}`);
  });
  events.onerror = () => {
    // The stream ends only with the session: say so instead of retrying.
    events.close();
    if (state.events === events) {
      state.events = null;
      showError("The connection to the server was lost (or the session ended): reload the page to start again.");
      for (const id of ["play", "pause", "step"]) $(id).disabled = true;
    }
  };
}

function onFrame(frame) {
  if (frame.generation !== state.generation) return; // a frame of a run that was reset
  $("step-count").textContent = frame.step;
  $("rate").textContent = Math.round(frame.steps_per_second);
  $("play").disabled = frame.playing || (state.info.status.stopped ?? null) !== null;
  $("pause").disabled = !frame.playing;
  if (frame.last) {
    $("loss-value").textContent = formatLoss(frame.last.loss);
    $("accuracy").textContent = formatAccuracy(frame.last.accuracy);
    $("lr-value").textContent = Number(frame.last.lr.toPrecision(4));
  }
  for (const entry of frame.history) state.history.push(entry);
  while (state.history.length > CURVE_POINTS) state.history = state.history.filter((_, i) => i % 2 === 0);
  if (frame.boundary) state.boundaryImage = boundaryImage(frame.boundary);
  drawBoundary();
  drawCurves();
  if (frame.neurons) drawNeurons(frame.neurons);
  if (frame.focus && state.focus && frame.focus.layer === state.focus[0] && frame.focus.neuron === state.focus[1]) {
    paintGrid($("enlarged-canvas"), frame.focus.grid);
  }
}

// ---- pictures ----------------------------------------------------------

function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function mix(color, t) {
  // color at opacity t over white
  return color.map((c) => Math.round(255 + t * (c - 255)));
}

// The boundary's cells as an image: each cell its class's colour, paler
// where the network is less sure.
function boundaryImage(grid) {
  const regression = state.info.data.task === "regression";
  return gridImage(grid, (cells, i) => {
    const strength = cells[2 * i + 1] / 255;
    return regression
      ? mix(strength < 0.5 ? NEGATIVE : POSITIVE, Math.abs(strength - 0.5) * 1.4)
      : mix(CLASS_COLORS[cells[2 * i] % CLASS_COLORS.length], 0.15 + 0.55 * strength);
  });
}

// A grid's cells as an image of one pixel each, coloured by colorOf(cells, i).
function gridImage(grid, colorOf) {
  const cells = decode(grid.cells);
  const side = grid.side;
  const canvas = document.createElement("canvas");
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext("2d");
  const image = context.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    image.data.set([...colorOf(cells, i), 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

function drawBoundary() {
  const canvas = $("boundary");
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const data = state.info && state.info.data;
  if (!data || data.extent === null) return;
  if (state.boundaryImage) {
    context.imageSmoothingEnabled = true;
    context.drawImage(state.boundaryImage, 0, 0, canvas.width, canvas.height);
  }
  const [x0, x1, y0, y1] = data.extent;
  const lo = Math.min(...data.y);
  const hi = Math.max(...data.y);
  for (let i = 0; i < data.x.length; i++) {
    const [x, y] = data.x[i];
    const px = ((x - x0) / (x1 - x0)) * canvas.width;
    const py = ((y1 - y) / (y1 - y0)) * canvas.height;
    const rgb = data.task === "regression"
      ? mix((data.y[i] - lo) / (hi - lo || 1) < 0.5 ? NEGATIVE : POSITIVE, 1)
      : CLASS_COLORS[data.classes.indexOf(data.y[i]) % CLASS_COLORS.length];
    context.beginPath();
    context.arc(px, py, data.x.length > 1000 ? 2.5 : 4, 0, 2 * Math.PI);
    context.fillStyle = `rgb(${rgb.join(",")})`;
    context.fill();
    context.lineWidth = 1;
    context.strokeStyle = "#fff";
    context.stroke();
  }
}

function drawCurves() {
  const canvas = $("curves");
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  const history = state.history;
  const pad = 28;
  context.fillStyle = "#666";
  context.font = "11px system-ui, sans-serif";
  if (history.length < 2) {
    context.fillText("loss and accuracy per step, once training starts", pad, height / 2);
    return;
  }
  const first = history[0][0];
  const last = history[history.length - 1][0];
  const maxLoss = Math.max(...history.map((h) => h[1]).filter(Number.isFinite), 1e-12);
  const x = (step) => pad + ((step - first) / Math.max(last - first, 1)) * (width - 2 * pad);
  const y = (t) => height - 16 - t * (height - 30);
  context.strokeStyle = "#ddd";
  context.beginPath();
  context.moveTo(pad, y(0));
  context.lineTo(width - pad, y(0));
  context.stroke();
  context.fillText(`loss (max ${formatLoss(maxLoss)})`, pad, 11);
  context.fillText(`step ${first}`, pad, height - 3);
  context.fillText(`${last}`, width - pad - 24, height - 3);
  const line = (value, color, dash) => {
    context.strokeStyle = color;
    context.setLineDash(dash);
    context.lineWidth = 1.5;
    context.beginPath();
    let started = false;
    for (const h of history) {
      const v = value(h);
      if (v === null || !Number.isFinite(v)) continue;
      if (started) context.lineTo(x(h[0]), y(v));
      else context.moveTo(x(h[0]), y(v));
      started = true;
    }
    context.stroke();
    context.setLineDash([]);
  };
  line((h) => h[1] / maxLoss, "#9e0142", []);
  if (history.some((h) => h[2] !== null)) {
    line((h) => h[2], "#3288bd", [5, 3]);
    context.fillStyle = "#3288bd";
    context.fillText("accuracy 0–100%", width - pad - 90, 11);
  }
}

// A neuron's grid: 128 is 0, 255 and 1 its largest output over the plane.
function paintGrid(canvas, grid) {
  const small = gridImage(grid, (cells, i) => {
    const v = (cells[i] - 128) / 127;
    return mix(v < 0 ? NEGATIVE : POSITIVE, Math.min(Math.abs(v), 1));
  });
  const target = canvas.getContext("2d");
  target.imageSmoothingEnabled = true;
  target.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function buildNetwork(info) {
  const network = $("network");
  network.replaceChildren();
  const widths = info.network.widths;
  const plane = info.data.extent !== null;
  const column = (title) => {
    const layer = document.createElement("div");
    layer.className = "layer";
    const heading = document.createElement("div");
    heading.className = "title";
    heading.textContent = title;
    layer.append(heading);
    network.append(layer);
    return layer;
  };
  const inputs = column("inputs");
  const names = document.createElement("div");
  names.className = "inputs";
  for (let i = 0; i < Math.min(widths[0], 8); i++) {
    const span = document.createElement("span");
    span.textContent = `x${i + 1}`;
    names.append(span);
  }
  inputs.append(names);
  const hidden = widths.length - 2;
  for (let l = 0; l < widths.length - 1; l++) {
    const isOutput = l === widths.length - 2;
    const layer = column(isOutput ? `output (${widths[l + 1]})` : `layer ${l + 1} (${widths[l + 1]})`);
    if (!isOutput) {
      const buttons = document.createElement("div");
      buttons.className = "widths";
      for (const [text, delta] of [["−", -1], ["+", 1]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = text;
        button.title = delta > 0 ? "Add a neuron" : "Remove a neuron";
        button.addEventListener("click", () => changeWidth(l, delta));
        buttons.append(button);
      }
      layer.append(buttons);
    }
    const neurons = document.createElement("div");
    neurons.className = "neurons";
    // Wide layers fill columns of up to 12 neurons.
    neurons.style.gridTemplateRows = `repeat(${Math.min(widths[l + 1], 12)}, 36px)`;
    for (let n = 0; n < widths[l + 1]; n++) {
      const canvas = document.createElement("canvas");
      canvas.width = 36;
      canvas.height = 36;
      canvas.dataset.layer = l;
      canvas.dataset.neuron = n;
      canvas.title = plane ? `${isOutput ? "output" : `layer ${l + 1}`}, neuron ${n + 1}: click to enlarge` : "";
      if (plane) canvas.addEventListener("click", () => enlarge(l, n));
      neurons.append(canvas);
    }
    layer.append(neurons);
  }
  $("remove-layer").disabled = hidden === 0;
  $("add-layer").disabled = hidden >= state.options.limits.hidden_layers;
}

function drawNeurons(layers) {
  for (const canvas of $("network").querySelectorAll("canvas")) {
    const grid = layers[canvas.dataset.layer] && layers[canvas.dataset.layer][canvas.dataset.neuron];
    if (grid) paintGrid(canvas, grid);
  }
}

async function enlarge(layer, neuron) {
  state.focus = [layer, neuron];
  const outputs = layer === state.info.network.widths.length - 2;
  $("enlarged-title").textContent = `${outputs ? "output" : `layer ${layer + 1}`}, neuron ${neuron + 1}: its output over the plane`;
  const canvas = $("enlarged-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  $("enlarged").hidden = false;
  await attempt(() => api("POST", sessionPath("/focus"), { layer, neuron }));
}

async function closeEnlarged() {
  $("enlarged").hidden = true;
  state.focus = null;
  await attempt(() => api("POST", sessionPath("/focus"), null));
}

function changeWidth(layer, delta) {
  const widths = parseWidths($("hidden-layers").value);
  widths[layer] = Math.max(1, Math.min(state.options.limits.width, widths[layer] + delta));
  $("hidden-layers").value = widths.join(",");
  configure(currentSettings());
}

// ---- downloads and graphs ---------------------------------------------

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function saveCanvas(canvas, name) {
  canvas.toBlob((blob) => saveBlob(blob, name), "image/png");
}

function showGraph(svg) {
  const image = new Image();
  image.alt = "the graph";
  image.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  image.onload = () => URL.revokeObjectURL(image.src);
  image.title = "click: full size or fit";
  image.addEventListener("click", () => image.classList.toggle("full"));
  $("graph").replaceChildren(image);
  $("save-graph-svg").disabled = false;
  $("save-graph-png").disabled = false;
}

function parseValues(text) {
  const values = {};
  for (const pair of text.trim().split(/[\s,]+/).filter((p) => p !== "")) {
    const [name, value] = pair.split("=");
    const number = Number(value);
    if (value === undefined || value.trim() === "" || !Number.isFinite(number)) {
      throw new ApiError(`\`${pair}\`: expected NAME=VALUE, like x=2.5`);
    }
    values[name.trim()] = number;
  }
  return values;
}

async function drawExpression() {
  const request = { expr: $("expression").value, values: parseValues($("values").value) };
  $("graph-result").textContent = "drawing…";
  const answer = await attempt(() => api("POST", "/api/graph", request));
  if (!answer) {
    $("graph-result").textContent = "";
    return;
  }
  clearError();
  const grads = Object.entries(answer.grads).map(([name, g]) => `d/d${name} = ${g}`).join(", ");
  // A number that is not finite comes as "NaN" or "Infinity", with the op that made it.
  const why = answer.not_finite ? ` (not finite: ${answer.not_finite})` : "";
  $("graph-result").textContent = `value ${answer.value}${grads ? `; ${grads}` : ""}${why}`;
  state.graph = { svg: answer.svg, png: () => api("POST", "/api/graph?format=png", request) };
  showGraph(answer.svg);
}

async function drawPoint() {
  const point = Number($("point").value);
  $("graph-result").textContent = "drawing…";
  const blob = await attempt(() => api("GET", sessionPath(`/graph?point=${point}`)));
  if (!blob) {
    $("graph-result").textContent = "";
    return;
  }
  clearError();
  const svg = await blob.text();
  const d = state.info.data;
  $("graph-result").textContent = `point ${point} (${d.x ? d.x[point].map((v) => v.toFixed(3)).join(", ") : "…"}, target ${d.y[point]}): its loss, backpropagated`;
  state.graph = { svg, png: () => api("GET", sessionPath(`/graph?point=${point}&format=png`)) };
  showGraph(svg);
}

// The data point nearest a click on the boundary.
function pointAt(event) {
  const data = state.info.data;
  if (!data.x) return null;
  const canvas = $("boundary");
  const box = canvas.getBoundingClientRect();
  const [x0, x1, y0, y1] = data.extent;
  const x = x0 + ((event.clientX - box.left) / box.width) * (x1 - x0);
  const y = y1 - ((event.clientY - box.top) / box.height) * (y1 - y0);
  let best = null;
  let distance = Infinity;
  data.x.forEach(([px, py], i) => {
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < distance) [best, distance] = [i, d];
  });
  return best;
}

// ---- wiring ------------------------------------------------------------

function wire() {
  $("play").addEventListener("click", async () => {
    const status = await attempt(() => api("POST", sessionPath("/play")));
    if (status) showStatus(status);
  });
  $("pause").addEventListener("click", async () => {
    const status = await attempt(() => api("POST", sessionPath("/pause")));
    if (status) showStatus(status);
  });
  $("step").addEventListener("click", async () => {
    const status = await attempt(() => api("POST", sessionPath("/step")));
    if (status) showStatus(status);
  });
  $("reset").addEventListener("click", async () => {
    const info = await attempt(() => api("POST", sessionPath("/reset")));
    if (info) {
      clearError();
      applyInfo(info);
    }
  });
  // A new dataset opens with its own settings.
  $("dataset").addEventListener("change", () => {
    const dataset = $("dataset").value;
    if (dataset === "upload") {
      $("upload").click();
      showSettings(state.info.settings);
      return;
    }
    configure({ dataset, seed: Number($("seed").value) || 0, speed: Number($("speed").value) });
  });
  for (const id of ["points", "noise", "seed", "activation", "loss", "optimizer", "lr", "schedule", "batch", "l2", "speed", "hidden-layers"]) {
    $(id).addEventListener("change", () => {
      try {
        configure(currentSettings());
      } catch (e) {
        showError(e.message);
      }
    });
  }
  for (const form of document.querySelectorAll("form")) form.addEventListener("submit", (e) => e.preventDefault());
  $("add-layer").addEventListener("click", () => {
    const widths = parseWidths($("hidden-layers").value);
    widths.push(widths.length ? widths[widths.length - 1] : 8);
    $("hidden-layers").value = widths.join(",");
    configure(currentSettings());
  });
  $("remove-layer").addEventListener("click", () => {
    const widths = parseWidths($("hidden-layers").value);
    widths.pop();
    $("hidden-layers").value = widths.join(",");
    configure(currentSettings());
  });
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    if (file.size > state.options.limits.upload_bytes) {
      showError(`${file.name}: ${file.size} bytes; files of up to ${state.options.limits.upload_bytes} bytes are read`);
    } else {
      const bytes = await file.arrayBuffer();
      const info = await attempt(() => api("POST", sessionPath(`/data?name=${encodeURIComponent(file.name)}`), undefined, bytes));
      if (info) {
        clearError();
        applyInfo(info);
      }
    }
    $("upload").value = "";
  });
  $("save-boundary-png").addEventListener("click", () => saveCanvas($("boundary"), "micrograd-boundary.png"));
  $("save-curves-png").addEventListener("click", () => saveCanvas($("curves"), "micrograd-training.png"));
  $("save-graph-svg").addEventListener("click", () => {
    if (state.graph) saveBlob(new Blob([state.graph.svg], { type: "image/svg+xml" }), "micrograd-graph.svg");
  });
  $("save-graph-png").addEventListener("click", async () => {
    if (!state.graph) return;
    const blob = await attempt(state.graph.png);
    if (blob) saveBlob(blob, "micrograd-graph.png");
  });
  $("expression-form").addEventListener("submit", () => attempt(drawExpression));
  $("point-form").addEventListener("submit", () => drawPoint());
  $("boundary").addEventListener("click", (event) => {
    const point = pointAt(event);
    if (point !== null) {
      $("point").value = point;
      drawPoint();
    }
  });
  $("enlarged-close").addEventListener("click", closeEnlarged);
  $("enlarged").addEventListener("click", (e) => {
    if (e.target === $("enlarged")) closeEnlarged();
  });
}

async function start() {
  wire();
  const options = await attempt(() => api("GET", "/api/options"));
  if (!options) return;
  state.options = options;
  fillSelect($("dataset"), options.datasets.map((d) => d.name));
  fillSelect($("activation"), options.activations);
  fillSelect($("loss"), options.losses);
  fillSelect($("optimizer"), options.optimizers);
  fillSelect($("schedule"), options.schedules);
  $("points").max = options.limits.points;
  const info = await attempt(() => api("POST", "/api/sessions", {}));
  if (!info) return;
  applyInfo(info);
  connect();
}

start();
