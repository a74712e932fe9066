// The playground's page. Training runs in worker.js (micrograd's engine,
// compiled to WebAssembly); this page sends it settings and commands, and
// paints the numbers it sends back. The whole setup lives in the URL's
// hash, so that a link reproduces it. Nothing is requested but this page's
// own static files.
"use strict";

const $ = (id) => document.getElementById(id);

// ---- colours ---------------------------------------------------------------

// One colour language, TensorFlow Playground's: orange for negative (the
// first class of two, a neuron's negative output, a negative weight), blue
// for positive, through a light grey at 0.
const NEGATIVE = [0xf5, 0x93, 0x22];
const POSITIVE = [0x08, 0x77, 0xbd];
const NEUTRAL = [0xe8, 0xea, 0xeb];
// More classes than two: the same two first, then others far from them.
const CLASS_COLORS = [
  NEGATIVE, POSITIVE, [0x2c, 0xa0, 0x2c], [0x94, 0x67, 0xbd], [0xd6, 0x27, 0x28],
  [0x8c, 0x56, 0x4b], [0x17, 0xbe, 0xcf], [0xe3, 0x77, 0xc2], [0x7f, 0x7f, 0x7f], [0xbc, 0xbd, 0x22],
];
// The boundary's shading stops short of the points' full colour, so that
// the points stand out; discretized, it is paler still.
const SHADE = 0.6;
const FLAT = 0.4;
// The curves' colours, apart from the data's.
const LOSS_COLOR = "#333";
const ACCURACY_COLOR = "#2a9d8f";
// The most points each curve keeps; beyond, every other one goes.
const CURVE_POINTS = 2000;
const DEFAULT_SPEED = "100";
// A link longer than this is not read.
const LONGEST_LINK = 4000;

const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
const mix = (from, to, t) => from.map((f, i) => Math.round(f + t * (to[i] - f)));
// -1 to 1 on the orange–grey–blue scale.
const diverging = (t) => (t < 0 ? mix(NEUTRAL, NEGATIVE, Math.min(-t, 1)) : mix(NEUTRAL, POSITIVE, Math.min(t, 1)));
const classColor = (k) => CLASS_COLORS[k % CLASS_COLORS.length];

// A neuron's byte (128 is 0, 1 and 255 its largest magnitude) as RGBA.
const NEURON_LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let b = 0; b < 256; b++) {
    lut.set([...diverging(Math.max(-1, Math.min(1, (b - 128) / 127))), 255], 4 * b);
  }
  return lut;
})();

// ---- state -------------------------------------------------------------------

const state = {
  options: null,
  info: null, // what trains, as the engine last described it
  bases: {}, // each dataset's own settings (its preset), by name: what a link leaves out
  generation: 0, // counts configures: an answer of an older one is dropped
  configuring: 0,
  playing: false,
  stopped: null,
  history: null,
  focus: null, // [layer, neuron] enlarged
  graph: null, // the graph shown: {svg, name}
  view: { speed: DEFAULT_SPEED, discretize: false, showTest: false },
  frame: null, // the last frame
  lastHash: null,
  paints: 0,
  firstPaint: null,
  // Made once per configure and reused by every frame.
  pictures: null,
};

// ---- the engine, in its worker -------------------------------------------

const engine = {
  worker: null,
  next: 1,
  pending: new Map(),
  ready: null,

  // engine.wasm, fetched and compiled here while worker.js loads; null
  // (the worker fetches it) where this fails.
  compile() {
    return WebAssembly.compileStreaming(fetch("engine.wasm"))
      .catch(() => fetch("engine.wasm").then((r) => (r.ok ? r.arrayBuffer() : Promise.reject())).then((b) => WebAssembly.compile(b)))
      .catch(() => null);
  },

  start() {
    const compiled = this.compile();
    this.ready = new Promise((resolve, reject) => {
      let worker;
      try {
        worker = new Worker("worker.js");
      } catch (e) {
        reject(new Error(`the page's worker could not start (${e.message})`));
        return;
      }
      this.worker = worker;
      worker.onmessage = (event) => {
        const message = event.data;
        switch (message.type) {
          case "ready":
            resolve();
            break;
          case "failed":
            reject(new Error(message.message));
            this.fail(message.message);
            break;
          case "answer": {
            const done = this.pending.get(message.id);
            this.pending.delete(message.id);
            if (done) done(message.answer);
            break;
          }
          case "tick":
            onTick(message);
            break;
          case "crashed":
            onCrash(message.message);
            break;
          default:
            break;
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const why = event.message || "worker.js could not be loaded";
        reject(new Error(why));
        this.fail(why);
      };
      compiled.then((module) => worker.postMessage({ type: "start", module }));
    });
    return this.ready;
  },

  // Every call waiting is answered with the failure.
  fail(message) {
    for (const done of this.pending.values()) done({ error: message });
    this.pending.clear();
  },

  call(message, transfer = []) {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ ...message, id }, transfer);
    });
  },

  request(request) {
    return this.call({ type: "request", request });
  },

  post(message) {
    if (this.worker) this.worker.postMessage(message);
  },
};

// Runs an action that configures (one or more times); while any runs, the
// body's data-busy counts them (a test waits for "0").
let busyCount = 0;
async function busy(action) {
  busyCount += 1;
  document.body.dataset.busy = busyCount;
  try {
    return await action();
  } finally {
    busyCount -= 1;
    document.body.dataset.busy = busyCount;
  }
}

// ---- messages ----------------------------------------------------------------

function show(id, message) {
  const box = $(id);
  box.textContent = message;
  box.hidden = false;
}

function hide(id) {
  $(id).hidden = true;
  $(id).textContent = "";
}

const showError = (message) => show("error", message);
const clearError = () => hide("error");

// An engine's error, with where in a file it is if it says so.
function errorText(answer) {
  let text = answer.error;
  if (answer.line !== undefined && !text.includes(`:${answer.line}:`)) {
    text += ` (line ${answer.line}${answer.column !== undefined ? `, column ${answer.column}` : ""})`;
  }
  return text;
}

// ---- the URL -----------------------------------------------------------------

// Every setting a link carries, with how it is written and read back: the
// keys of the library's Settings. `read` gives {value} or {why}.
const numberPattern = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function readNumber(text, lo, hi, loOpen, what) {
  const n = numberPattern.test(text) ? Number(text) : NaN;
  const ok = Number.isFinite(n) && (loOpen ? n > lo : n >= lo) && n <= hi;
  return ok ? { value: n } : { why: what };
}

function readInteger(text, lo, hi, what) {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n >= lo && n <= hi ? { value: n } : { why: what };
}

function readName(text, names, what) {
  return names.includes(text) ? { value: text } : { why: `${what}: one of ${names.join(", ")}` };
}

function readList(text, names, what) {
  const list = text.split(",").map((f) => f.trim());
  if (list.length === 0 || list.some((f) => !names.includes(f))) return { why: `${what}: some of ${names.join(", ")}` };
  if (new Set(list).size !== list.length) return { why: `${what}, each once` };
  return { value: list };
}

function readWidths(text, limits) {
  const what = `widths like 8,8: at most ${limits.hidden_layers} layers of 1 to ${limits.width} neurons`;
  if (text.trim() === "") return { value: [] };
  const widths = text.split(",").map((w) => w.trim());
  if (widths.length > limits.hidden_layers) return { why: what };
  const numbers = widths.map((w) => readInteger(w, 1, limits.width, what));
  const bad = numbers.find((n) => n.why);
  return bad || { value: numbers.map((n) => n.value) };
}

function settingFields() {
  const o = state.options;
  const l = o.limits;
  const plain = (v) => String(v);
  return {
    dataset: { read: (t) => readName(t, o.datasets, "a dataset"), write: plain },
    points: { read: (t) => readInteger(t, 4, l.points, `points: 4 to ${l.points}`), write: plain },
    noise: { read: (t) => readNumber(t, 0, 2, false, "noise: 0 to 2"), write: plain },
    seed: { read: (t) => readInteger(t, 0, Number.MAX_SAFE_INTEGER, "a seed: a whole number, 0 or more"), write: plain },
    test: { read: (t) => readNumber(t, 0, 0.95, false, "the fraction held out: 0 to 0.95"), write: (v) => String(v ?? 0) },
    features: { read: (t) => readList(t, o.features, "features"), write: (v) => v.join(",") },
    hidden: { read: (t) => readWidths(t, l), write: (v) => v.join(",") },
    activation: { read: (t) => readName(t, o.activations, "an activation"), write: plain },
    loss: { read: (t) => readName(t, o.losses, "a loss"), write: plain },
    optimizer: { read: (t) => readName(t, o.optimizers, "an optimizer"), write: plain },
    lr: { read: (t) => readNumber(t, 0, 10, true, "a learning rate: more than 0, at most 10"), write: plain },
    schedule: { read: (t) => readName(t, o.schedules, "a schedule"), write: plain },
    batch: {
      read: (t) => (t === "all" ? { value: null } : readInteger(t, 1, l.points, `a batch: 1 to ${l.points}, or all`)),
      write: (v) => (v === null ? "all" : String(v)),
    },
    l2: { read: (t) => readNumber(t, 0, 1, false, "L2: 0 to 1"), write: plain },
    l1: { read: (t) => readNumber(t, 0, 1, false, "L1: 0 to 1"), write: plain },
    steps: { read: (t) => readInteger(t, 1, 1_000_000, "steps: 1 to 1,000,000"), write: plain },
  };
}

const SPEEDS = () => [...$("speed").options].map((o) => o.value);
const readFlag = (t, what) => (t === "1" || t === "true" ? { value: true } : t === "0" || t === "false" ? { value: false } : { why: `${what}: 0 or 1` });

// The page's own state in a link, beside the settings.
const VIEW_FIELDS = {
  speed: { key: "speed", read: (t) => readName(t, SPEEDS(), "a speed"), write: String, initial: DEFAULT_SPEED },
  discretize: { key: "discretize", read: (t) => readFlag(t, "discretize"), write: (v) => (v ? "1" : "0"), initial: false },
  showTest: { key: "show-test", read: (t) => readFlag(t, "show-test"), write: (v) => (v ? "1" : "0"), initial: false },
};

// Text from a link, short enough to quote.
const quote = (text) => (text.length > 40 ? `${text.slice(0, 40)}…` : text);
// `,` and `*` read as they are in a link.
const encode = (text) => encodeURIComponent(text).replace(/%2C/g, ",");

// A link's hash read: the settings and the page's state it gives, and what
// of it was ignored, and why.
function readHash(hash) {
  const settings = {};
  const view = {};
  const ignored = [];
  const text = hash.replace(/^#/, "");
  if (text === "") return { settings, view, ignored };
  if (text.length > LONGEST_LINK) {
    return { settings, view, ignored: [`all of it: ${text.length} characters, more than a setup takes (${LONGEST_LINK})`] };
  }
  const fields = settingFields();
  const viewByKey = Object.fromEntries(Object.entries(VIEW_FIELDS).map(([name, f]) => [f.key, [name, f]]));
  const seen = new Set();
  for (const part of text.split("&")) {
    if (part === "") continue;
    const at = part.indexOf("=");
    let key;
    let value;
    try {
      key = decodeURIComponent(at < 0 ? part : part.slice(0, at));
      value = at < 0 ? null : decodeURIComponent(part.slice(at + 1));
    } catch (_) {
      ignored.push(`\`${quote(part)}\` (not readable)`);
      continue;
    }
    const field = Object.hasOwn(fields, key) ? fields[key] : null;
    const viewField = Object.hasOwn(viewByKey, key) ? viewByKey[key] : null;
    if (!field && !viewField) {
      ignored.push(key === "" ? `\`${quote(part)}\` (no name)` : `\`${quote(key)}\` (not a setting)`);
      continue;
    }
    if (seen.has(key)) {
      ignored.push(`the second \`${quote(key)}\` (given twice)`);
      continue;
    }
    seen.add(key);
    if (value === null) {
      ignored.push(`\`${quote(key)}\` (no value)`);
      continue;
    }
    const read = field ? field.read(value) : viewField[1].read(value);
    if (read.why) {
      ignored.push(`${quote(key)}=${quote(value)} (expected ${read.why})`);
      continue;
    }
    if (field) settings[key] = read.value;
    else view[viewField[0]] = read.value;
  }
  if (settings.dataset === "upload") {
    ignored.push("dataset=upload: this setup trained on an uploaded file, and links carry settings, not data: upload the file again");
    for (const key of Object.keys(settings)) delete settings[key];
  }
  return { settings, view, ignored };
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

// The setup as a hash: the dataset, every setting that differs from its
// dataset's own, and the page's state that is not the first.
function writeHash() {
  const settings = state.info.settings;
  const base = state.bases[settings.dataset] || {};
  const fields = settingFields();
  const parts = [];
  for (const [key, field] of Object.entries(fields)) {
    const value = settings[key];
    if (key !== "dataset" && (same(value, base[key]) || (value === null && key !== "batch" && key !== "test"))) continue;
    parts.push(`${key}=${encode(field.write(value))}`);
  }
  for (const [name, field] of Object.entries(VIEW_FIELDS)) {
    if (state.view[name] !== field.initial) parts.push(`${field.key}=${encode(field.write(state.view[name]))}`);
  }
  return parts.join("&");
}

function updateUrl() {
  if (!state.info) return;
  const hash = `#${writeHash()}`;
  state.lastHash = hash;
  if (location.hash !== hash) history.replaceState(null, "", hash);
  $("share").href = location.href;
}

// ---- settings ----------------------------------------------------------------

function fillSelect(select, names) {
  select.replaceChildren(...names.map((name) => new Option(name, name)));
}

function fillFeatures(names) {
  const box = $("features");
  box.replaceChildren(...names.map((name) => {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = name;
    input.addEventListener("change", () => busy(changeFeatures));
    label.append(input, ` ${name}`);
    return label;
  }));
}

const featureBoxes = () => [...$("features").querySelectorAll("input")];

// Every control shows the settings that train.
function showSettings(s) {
  $("dataset").value = s.dataset;
  const drawn = s.noise !== null;
  $("points").value = s.points ?? "";
  $("noise").value = s.noise ?? "";
  $("points").disabled = !drawn;
  $("noise").disabled = !drawn;
  $("seed").value = s.seed;
  $("test").value = s.test ?? 0;
  $("test-value").textContent = `${Math.round((s.test ?? 0) * 100)}%`;
  $("hidden-layers").value = s.hidden.join(",");
  $("activation").value = s.activation;
  $("loss").value = s.loss;
  $("optimizer").value = s.optimizer;
  $("lr").value = s.lr;
  $("schedule").value = s.schedule;
  $("steps").value = s.steps;
  $("batch").value = s.batch ?? "";
  $("l1").value = s.l1 ?? 0;
  $("l2").value = s.l2 ?? 0;
  const features = s.features;
  for (const box of featureBoxes()) {
    box.checked = features ? features.includes(box.value) : false;
    box.disabled = !features;
  }
  const note = $("features-note");
  if (state.options.features.length === 0) {
    note.textContent = "This engine offers no features to choose: the network reads the points as they are.";
    note.hidden = false;
  } else if (!features) {
    note.textContent = "Features are made from points in the plane; these points are read as they are.";
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

function showView() {
  $("speed").value = state.view.speed;
  $("discretize").checked = state.view.discretize;
  $("show-test").checked = state.view.showTest;
}

// A control's text as a setting, or why not.
function controlValue(id) {
  const input = $(id);
  const text = input.value.trim();
  const o = state.options;
  switch (id) {
    case "hidden-layers":
      return readWidths(text, o.limits);
    case "points":
      return readInteger(text, 4, o.limits.points, `points: 4 to ${o.limits.points}`);
    case "noise":
      return readNumber(text, 0, 2, false, "noise: 0 to 2");
    case "seed":
      return readInteger(text, 0, Number.MAX_SAFE_INTEGER, "a seed: a whole number, 0 or more");
    case "lr":
      return readNumber(text, 0, 10, true, "a learning rate: more than 0, at most 10");
    case "steps":
      return readInteger(text, 1, 1_000_000, "steps: 1 to 1,000,000");
    case "batch":
      return text === "" ? { value: null } : readInteger(text, 1, o.limits.points, `a batch: 1 to ${o.limits.points}, or empty for all`);
    case "l1":
    case "l2":
      return readNumber(text === "" ? "0" : text, 0, 1, false, `${id.toUpperCase()}: 0 to 1`);
    case "test":
      return { value: Number(text) === 0 ? null : Number(text) };
    default:
      return { value: input.value };
  }
}

const SETTING_OF = {
  points: "points", noise: "noise", seed: "seed", test: "test", "hidden-layers": "hidden", activation: "activation",
  loss: "loss", optimizer: "optimizer", lr: "lr", schedule: "schedule", steps: "steps", batch: "batch", l1: "l1", l2: "l2",
};

// A control changed: the settings that train, with its value.
async function changeSetting(id) {
  if (!state.info) return;
  const read = controlValue(id);
  if (read.why) {
    showError(`Not changed: expected ${read.why}.`);
    showSettings(state.info.settings);
    return;
  }
  await configure({ ...state.info.settings, [SETTING_OF[id]]: read.value });
}

async function changeFeatures() {
  const features = featureBoxes().filter((b) => b.checked).map((b) => b.value);
  if (features.length === 0) {
    showError("The network needs at least one feature to read.");
    showSettings(state.info.settings);
    return;
  }
  await configure({ ...state.info.settings, features });
}

// Only the settings given: the engine decides the rest.
function given(settings) {
  const out = {};
  for (const [key, value] of Object.entries(settings)) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

// Trains `settings` from fresh weights. On an error the controls go back
// to what trains, and the error is shown (unless `quiet`): the answer is
// returned either way.
async function configure(settings, { quiet = false } = {}) {
  const wasPlaying = state.playing;
  if (wasPlaying) pause();
  state.configuring += 1;
  state.generation += 1;
  const answer = await engine.request({ op: "configure", settings: given(settings) });
  state.configuring -= 1;
  if (answer.error) {
    if (!quiet) showError(errorText(answer));
    if (state.info) showSettings(state.info.settings);
    if (wasPlaying) play();
    return answer;
  }
  clearError();
  applyInfo(answer);
  if (wasPlaying) play();
  return answer;
}

// A dataset's own settings (its preset), which a link leaves out: trains
// them, and keeps them.
async function configureBase(dataset) {
  const answer = await configure(dataset === undefined ? {} : { dataset }, { quiet: true });
  if (!answer.error) state.bases[answer.settings.dataset] = answer.settings;
  return answer;
}

// A new dataset opens with its own settings, keeping the seed, the split
// and the features.
async function changeDataset() {
  const dataset = $("dataset").value;
  if (dataset === "upload") {
    showSettings(state.info.settings);
    $("upload").click();
    return;
  }
  const old = state.info.settings;
  const base = await configureBase(dataset);
  if (base.error) {
    showError(errorText(base));
    return;
  }
  const kept = {};
  if (old.seed !== base.settings.seed) kept.seed = old.seed;
  if (old.test) kept.test = old.test;
  if (old.features && base.settings.features && !same(old.features, base.settings.features)) kept.features = old.features;
  if (Object.keys(kept).length > 0) {
    const answer = await configure({ ...base.settings, ...kept }, { quiet: true });
    if (answer.error) showError(`${dataset} opens with its own settings: ${errorText(answer)}`);
  }
}

async function upload(file) {
  const limit = state.options.limits.upload_bytes;
  if (file.size > limit) {
    showError(`${file.name}: ${file.size} bytes; files of up to ${limit} bytes are read`);
    return;
  }
  const bytes = await file.arrayBuffer();
  const wasPlaying = state.playing;
  if (wasPlaying) pause();
  state.configuring += 1;
  state.generation += 1;
  const answer = await engine.call({ type: "upload", name: file.name, bytes }, [bytes]);
  state.configuring -= 1;
  if (answer.error) {
    showError(errorText(answer));
    if (state.info) showSettings(state.info.settings);
    return;
  }
  clearError();
  state.bases.upload = answer.settings;
  applyInfo(answer);
}

// ---- what trains -------------------------------------------------------------

function applyInfo(info) {
  state.info = info;
  state.stopped = info.stopped;
  state.frame = null;
  state.history = { stride: 1, step: [], loss: [], accuracy: [], testLoss: [], testAccuracy: [] };
  showSettings(info.settings);
  const d = info.data;
  const held = d.test.filter(Boolean).length;
  const kind = d.task === "regression" ? "real-valued targets" : `${d.classes.length} classes`;
  $("data-summary").textContent = `${d.name}: ${d.points} points${held ? ` (${held} held out)` : ""}, ${d.features} features, ${kind}`;
  $("point").max = d.points - 1;
  const n = info.network;
  $("network-summary").textContent = `MLP ${n.widths.join("-")}, ${n.parameters} parameters`;
  $("step-count").textContent = "0";
  $("rate").textContent = "0";
  showRecord(null);
  $("test-key").hidden = held === 0;
  const plane = d.extent !== null;
  for (const id of ["boundary", "boundary-toggles", "download-boundary-svg", "download-boundary-png"]) $(id).hidden = !plane;
  $("boundary-note").hidden = plane;
  $("boundary-note").textContent = plane ? "" : `The pictures over the plane need points with two features; these have ${d.features}.`;
  $("legend").hidden = !(plane && d.task === "regression");
  if (d.task === "regression") {
    $("legend-low").textContent = formatNumber(d.targets[0]);
    $("legend-high").textContent = formatNumber(d.targets[1]);
  }
  if (info.stopped) showError(`Training cannot start: ${info.stopped}`);
  setPlaying(false);
  state.pictures = makePictures(info);
  buildNetwork(info);
  drawBoundary();
  drawCurves();
  updateUrl();
  refreshPictures();
}

function formatNumber(x) {
  x = Number(x);
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  return Math.abs(x) >= 1000 || Math.abs(x) < 0.001 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

function formatLoss(loss) {
  if (!Number.isFinite(loss)) return String(loss);
  return loss >= 1000 || (loss !== 0 && loss < 0.001) ? loss.toExponential(3) : loss.toFixed(4);
}

const formatAccuracy = (a) => (a === null || a === undefined ? "–" : `${(Number(a) * 100).toFixed(1)}%`);

// A readout: its text, and the number in full in data-value.
function readout(id, value, format) {
  const element = $(id);
  if (value === null || value === undefined) {
    element.textContent = "–";
    delete element.dataset.value;
  } else {
    const number = Number(value);
    element.textContent = format(number);
    element.dataset.value = String(number);
  }
}

function showRecord(record) {
  readout("loss-value", record && record.loss, formatLoss);
  readout("test-loss", record && record.test_loss, formatLoss);
  readout("accuracy", record && record.accuracy, formatAccuracy);
  readout("test-accuracy", record && record.test_accuracy, formatAccuracy);
  readout("lr-value", record && record.lr, formatNumber);
}

// Steps taken: their records join the curves, the last is shown.
function applySteps(steps) {
  $("step-count").textContent = steps.step;
  const h = state.history;
  for (const r of steps.records) {
    if (r.step % h.stride !== 0) continue;
    h.step.push(r.step);
    h.loss.push(Number(r.loss));
    h.accuracy.push(r.accuracy === null ? null : Number(r.accuracy));
    h.testLoss.push(r.test_loss === null ? null : Number(r.test_loss));
    h.testAccuracy.push(r.test_accuracy === null ? null : Number(r.test_accuracy));
  }
  if (h.step.length > CURVE_POINTS) {
    h.stride *= 2;
    const keep = (_, i) => h.step[i] % h.stride === 0;
    for (const key of ["loss", "accuracy", "testLoss", "testAccuracy", "step"]) h[key] = h[key].filter(keep);
  }
  if (steps.records.length > 0) showRecord(steps.records[steps.records.length - 1]);
  if (steps.stopped && !state.stopped) {
    state.stopped = steps.stopped;
    showError(`Training stopped at step ${steps.step}: ${steps.stopped}`);
  }
}

// ---- training ----------------------------------------------------------------

function setPlaying(playing) {
  state.playing = playing;
  const ready = state.info !== null && !state.stopped;
  $("play").disabled = playing || !ready;
  $("pause").disabled = !playing;
  $("step").disabled = !ready;
  if (!playing) $("rate").textContent = "0";
}

const speedValue = () => (state.view.speed === "max" ? Infinity : Number(state.view.speed));

function play() {
  if (!state.info || state.stopped) return;
  setPlaying(true);
  engine.post({ type: "play", speed: speedValue() });
}

function pause() {
  setPlaying(false);
  engine.post({ type: "pause" });
}

async function stepOnce() {
  if (!state.info || state.stopped) return;
  if (state.playing) pause();
  const generation = state.generation;
  const answer = await engine.request({ op: "step", steps: 1 });
  if (generation !== state.generation) return;
  if (answer.error) {
    showError(answer.error);
    return;
  }
  applySteps(answer);
  refreshPictures();
}

async function reset() {
  if (!state.info) return;
  await configure(state.info.settings);
}

function onTick(tick) {
  if (state.configuring > 0 || !state.info) return;
  if (tick.steps && tick.steps.error) {
    showError(tick.steps.error);
  } else if (tick.steps) {
    applySteps(tick.steps);
  }
  if (tick.frame && !tick.frame.error) paintFrame(tick.frame);
  if (tick.rate !== null && tick.rate !== undefined && tick.playing) $("rate").textContent = Math.round(tick.rate);
  if (!tick.playing && state.playing) setPlaying(false);
}

function onCrash(message) {
  showError(`The engine stopped on a bug and was started afresh: ${message}. Press reset to train again.`);
  setPlaying(false);
}

// The pictures' numbers now, asked for once at a time.
let framing = null;
async function refreshPictures() {
  if (framing) {
    framing.again = true;
    return;
  }
  framing = { again: false };
  while (framing) {
    framing.again = false;
    const generation = state.generation;
    const frame = await engine.request({ op: "frame", focus: state.focus, neurons: true });
    if (generation === state.generation && !frame.error && state.configuring === 0) paintFrame(frame);
    if (!framing.again) framing = null;
  }
}

// ---- pictures ----------------------------------------------------------------

// What every frame of this setup paints with, made once: the colour table
// of the boundary's cells, its small image, and the points' layer.
function makePictures(info) {
  const d = info.data;
  if (d.extent === null) return null;
  const classes = Math.max(d.classes.length, 1);
  const boundaryCanvas = $("boundary");
  const small = document.createElement("canvas");
  const points = document.createElement("canvas");
  points.width = boundaryCanvas.width;
  points.height = boundaryCanvas.height;
  const pictures = { small, image: null, points, lut: null, classes };
  pictures.lut = boundaryLut(d.task, classes, state.view.discretize);
  drawPoints(pictures, info);
  return pictures;
}

// The colour of each boundary cell's two bytes (its class, how sure), as
// RGBA at (class·256 + sure)·4.
function boundaryLut(task, classes, discretize) {
  const lut = new Uint8ClampedArray(classes * 256 * 4);
  for (let c = 0; c < classes; c++) {
    for (let s = 0; s < 256; s++) {
      let color;
      if (task === "regression") {
        const t = s / 127.5 - 1;
        color = discretize ? mix(NEUTRAL, t < 0 ? NEGATIVE : POSITIVE, FLAT) : diverging(t * SHADE);
      } else if (task === "binary") {
        color = discretize ? mix(NEUTRAL, classColor(c), FLAT) : diverging((c === 1 ? 1 : -1) * (s / 255) * SHADE);
      } else {
        color = mix(NEUTRAL, classColor(c), discretize ? FLAT : (s / 255) * SHADE);
      }
      lut.set([...color, 255], (c * 256 + s) * 4);
    }
  }
  return lut;
}

// A point's colour: its class's, or its target's on the scale.
function pointColor(d, i) {
  const y = Number(d.y[i]);
  if (d.task === "regression") {
    const [lo, hi] = d.targets.map(Number);
    return diverging(hi > lo ? (2 * (y - lo)) / (hi - lo) - 1 : 0);
  }
  return classColor(d.classes.map(Number).indexOf(y));
}

function toPixel(d, width, height, [x, y]) {
  const [x0, x1, y0, y1] = d.extent.map(Number);
  return [((Number(x) - x0) / (x1 - x0)) * width, ((y1 - Number(y)) / (y1 - y0)) * height];
}

// The points, drawn once a setup into their own layer: training points
// filled, held-out points hollow rings (when shown).
function drawPoints(pictures, info) {
  const d = info.data;
  const canvas = pictures.points;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const r = (d.x.length > 1000 ? 2.5 : 4) * (canvas.width / 400);
  for (let i = 0; i < d.x.length; i++) {
    const held = d.test[i];
    if (held && !state.view.showTest) continue;
    const [px, py] = toPixel(d, canvas.width, canvas.height, d.x[i]);
    const color = rgb(pointColor(d, i));
    context.beginPath();
    context.arc(px, py, r, 0, 2 * Math.PI);
    if (held) {
      context.fillStyle = "rgba(255,255,255,0.75)";
      context.fill();
      context.lineWidth = 2;
      context.strokeStyle = color;
      context.stroke();
    } else {
      context.fillStyle = color;
      context.fill();
      context.lineWidth = 1;
      context.strokeStyle = "#fff";
      context.stroke();
    }
  }
}

// A grid's bytes into a canvas of one pixel a cell, through a colour
// table; the canvas's ImageData is kept and reused.
function paintCells(canvas, grid, lut, stride) {
  const side = grid.side;
  if (canvas.width !== side || canvas.height !== side) {
    canvas.width = side;
    canvas.height = side;
    canvas.image = null;
  }
  const context = canvas.getContext("2d");
  if (!canvas.image) canvas.image = context.createImageData(side, side);
  const pixels = canvas.image.data;
  const cells = grid.cells;
  const n = side * side;
  if (stride === 2) {
    for (let i = 0; i < n; i++) {
      const at = (cells[2 * i] * 256 + cells[2 * i + 1]) * 4;
      pixels[4 * i] = lut[at];
      pixels[4 * i + 1] = lut[at + 1];
      pixels[4 * i + 2] = lut[at + 2];
      pixels[4 * i + 3] = 255;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const at = cells[i] * 4;
      pixels[4 * i] = lut[at];
      pixels[4 * i + 1] = lut[at + 1];
      pixels[4 * i + 2] = lut[at + 2];
      pixels[4 * i + 3] = 255;
    }
  }
  context.putImageData(canvas.image, 0, 0);
}

function paintFrame(frame) {
  state.frame = frame;
  $("step-count").textContent = Math.max(Number($("step-count").textContent), frame.step);
  const pictures = state.pictures;
  if (pictures && frame.boundary) {
    paintCells(pictures.small, frame.boundary, pictures.lut, 2);
    pictures.image = pictures.small;
  }
  drawBoundary();
  drawCurves();
  if (frame.neurons) paintNeurons(frame.neurons);
  paintLinks(frame);
  if (frame.focus && state.focus) paintCells($("enlarged-canvas"), frame.focus, NEURON_LUT, 1);
}

function drawBoundary() {
  const canvas = $("boundary");
  const context = canvas.getContext("2d");
  const pictures = state.pictures;
  context.fillStyle = rgb(NEUTRAL);
  context.fillRect(0, 0, canvas.width, canvas.height);
  if (!pictures) return;
  if (pictures.image) {
    context.imageSmoothingEnabled = !state.view.discretize;
    context.drawImage(pictures.image, 0, 0, canvas.width, canvas.height);
    state.paints += 1;
    canvas.dataset.paints = state.paints;
    if (state.firstPaint === null) {
      state.firstPaint = performance.now();
      canvas.dataset.firstPaintMs = Math.round(state.firstPaint);
    }
  }
  context.drawImage(pictures.points, 0, 0);
}

// The loss on a log scale (training solid, test dashed), the accuracy on
// its own axis at the right: as lines from the history, for a canvas or
// an SVG.
function curveLayout(width, height) {
  const h = state.history;
  if (!h || h.step.length < 2) return null;
  const losses = h.loss.concat(h.testLoss).filter((v) => v !== null && Number.isFinite(v) && v > 0);
  if (losses.length === 0) return null;
  let lo = Math.floor(Math.log10(Math.min(...losses)));
  let hi = Math.ceil(Math.log10(Math.max(...losses)));
  if (hi <= lo) hi = lo + 1;
  const pad = { left: 44, right: 40, top: 16, bottom: 18 };
  const first = h.step[0];
  const last = h.step[h.step.length - 1];
  const x = (step) => pad.left + ((step - first) / Math.max(last - first, 1)) * (width - pad.left - pad.right);
  const plotHeight = height - pad.top - pad.bottom;
  const yLoss = (v) => pad.top + ((hi - Math.log10(Math.max(v, 10 ** lo))) / (hi - lo)) * plotHeight;
  const yAccuracy = (a) => pad.top + (1 - a) * plotHeight;
  const line = (values, y) => {
    const points = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || !Number.isFinite(v)) continue;
      points.push([x(h.step[i]), y(v)]);
    }
    return points;
  };
  const hasAccuracy = h.accuracy.some((a) => a !== null);
  const hasTest = h.testLoss.some((v) => v !== null);
  const lines = [
    { name: "loss", points: line(h.loss, yLoss), color: LOSS_COLOR, dash: [] },
  ];
  if (hasTest) lines.push({ name: "test loss", points: line(h.testLoss, yLoss), color: LOSS_COLOR, dash: [5, 3] });
  if (hasAccuracy) lines.push({ name: "accuracy", points: line(h.accuracy, yAccuracy), color: ACCURACY_COLOR, dash: [] });
  if (hasAccuracy && hasTest) lines.push({ name: "test accuracy", points: line(h.testAccuracy, yAccuracy), color: ACCURACY_COLOR, dash: [5, 3] });
  const decades = [];
  for (let e = lo; e <= hi; e++) decades.push({ y: yLoss(10 ** e), text: e >= -3 && e <= 3 ? String(10 ** e >= 1 ? 10 ** e : Number((10 ** e).toFixed(-e))) : `1e${e}` });
  return { pad, first, last, lines, decades, hasAccuracy, yAccuracy, width, height };
}

function drawCurves() {
  const canvas = $("curves");
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.font = "11px system-ui, sans-serif";
  context.fillStyle = "#666";
  const layout = curveLayout(width, height);
  if (!layout) {
    context.fillText("loss (log scale) and accuracy per step, once training starts", 12, height / 2);
    return;
  }
  const { pad } = layout;
  context.strokeStyle = "#e4e4e4";
  context.lineWidth = 1;
  for (const d of layout.decades) {
    context.beginPath();
    context.moveTo(pad.left, d.y);
    context.lineTo(width - pad.right, d.y);
    context.stroke();
    context.fillText(d.text, 4, d.y + 4);
  }
  if (layout.hasAccuracy) {
    for (const a of [0, 0.5, 1]) context.fillText(`${a * 100}%`, width - pad.right + 4, layout.yAccuracy(a) + 4);
  }
  context.fillText(`step ${layout.first}`, pad.left, height - 4);
  context.fillText(`${layout.last}`, width - pad.right - 30, height - 4);
  let legendX = pad.left;
  for (const l of layout.lines) {
    context.strokeStyle = l.color;
    context.setLineDash(l.dash);
    context.lineWidth = 1.5;
    context.beginPath();
    l.points.forEach(([px, py], i) => (i === 0 ? context.moveTo(px, py) : context.lineTo(px, py)));
    context.stroke();
    context.beginPath();
    context.moveTo(legendX, 7);
    context.lineTo(legendX + 16, 7);
    context.stroke();
    context.setLineDash([]);
    context.fillStyle = l.color;
    context.fillText(l.name, legendX + 20, 11);
    legendX += 28 + context.measureText(l.name).width;
  }
}

// ---- the network -------------------------------------------------------------

// A neuron's picture, in CSS pixels, and the most in a column: a network
// with a layer wider than 10 has smaller pictures, 16 a column.
const SIZES = [{ node: 30, gap: 5, rows: 10 }, { node: 20, gap: 4, rows: 16 }];
const LAYER_GAP = 56;
const LABEL = 48; // room for the inputs' names
const TOP = 40;

function buildNetwork(info) {
  // The network scrolls in its panel; `area` is its drawing, to scale.
  const area = document.createElement("div");
  area.className = "area";
  $("network").replaceChildren(area);
  const widths = info.network.widths;
  const plane = info.data.extent !== null;
  const { node: NODE, gap: NODE_GAP, rows: ROWS } = SIZES[Math.max(...widths) > SIZES[0].rows ? 1 : 0];
  const tallest = Math.min(Math.max(...widths), ROWS);
  const height = TOP + tallest * (NODE + NODE_GAP);
  // Each layer's nodes' places, inputs first.
  const layers = [];
  let x = LABEL;
  widths.forEach((n, j) => {
    const columns = Math.ceil(n / ROWS);
    const rows = Math.min(n, ROWS);
    const top = TOP + ((tallest - rows) * (NODE + NODE_GAP)) / 2;
    const nodes = [];
    for (let i = 0; i < n; i++) {
      nodes.push({ x: x + Math.floor(i / ROWS) * (NODE + NODE_GAP), y: top + (i % ROWS) * (NODE + NODE_GAP) });
    }
    layers.push({ x, nodes, width: columns * (NODE + NODE_GAP) - NODE_GAP });
    x += columns * (NODE + NODE_GAP) - NODE_GAP + LAYER_GAP;
  });
  const width = x - LAYER_GAP + 8;
  area.style.width = `${width}px`;
  area.style.height = `${height}px`;

  // The links, behind the nodes: layer l's neuron n's weight for input i.
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.classList.add("links");
  const links = [];
  const names = info.network.inputs;
  const nodeName = (j, i) => (j === 0 ? names[i] ?? `x${i + 1}` : j === widths.length - 1 ? `output ${i + 1}` : `layer ${j}, neuron ${i + 1}`);
  for (let l = 0; l < widths.length - 1; l++) {
    const from = layers[l];
    const to = layers[l + 1];
    for (let n = 0; n < widths[l + 1]; n++) {
      for (let i = 0; i < widths[l]; i++) {
        const line = document.createElementNS(svgNS, "line");
        line.setAttribute("x1", from.nodes[i].x + NODE);
        line.setAttribute("y1", from.nodes[i].y + NODE / 2);
        line.setAttribute("x2", to.nodes[n].x);
        line.setAttribute("y2", to.nodes[n].y + NODE / 2);
        const title = document.createElementNS(svgNS, "title");
        const prefix = `${nodeName(l, i)} → ${nodeName(l + 1, n)}: weight `;
        title.textContent = prefix;
        line.append(title);
        line.dataset.link = links.length;
        svg.append(line);
        links.push({ line, title, prefix, l, n, i, look: null });
      }
    }
  }
  area.append(svg);
  svg.addEventListener("mouseover", (event) => {
    const k = event.target.dataset && event.target.dataset.link;
    state.network.hovered = k === undefined ? null : Number(k);
    if (k !== undefined) titleLink(Number(k));
  });
  svg.addEventListener("mouseleave", () => {
    state.network.hovered = null;
  });

  const hidden = widths.length - 2;
  layers.forEach((layer, j) => {
    const heading = document.createElement("div");
    heading.className = "heading";
    heading.style.left = `${layer.x - 10}px`;
    heading.style.width = `${layer.width + 20}px`;
    const isInput = j === 0;
    const isOutput = j === widths.length - 1;
    heading.textContent = isInput ? "inputs" : isOutput ? "output" : `${widths[j]} neurons`;
    if (!isInput && !isOutput) {
      const buttons = document.createElement("div");
      buttons.className = "widths";
      for (const [text, delta] of [["−", -1], ["+", 1]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = text;
        button.title = delta > 0 ? "Add a neuron" : "Remove a neuron";
        button.disabled = delta < 0 ? widths[j] <= 1 : widths[j] >= state.options.limits.width;
        button.addEventListener("click", () => busy(() => changeWidth(j - 1, delta)));
        buttons.append(button);
      }
      heading.append(buttons);
    }
    area.append(heading);
    layer.nodes.forEach((place, i) => {
      const canvas = document.createElement("canvas");
      canvas.className = "node";
      canvas.style.left = `${place.x}px`;
      canvas.style.top = `${place.y}px`;
      canvas.style.width = `${NODE}px`;
      canvas.style.height = `${NODE}px`;
      canvas.width = 1;
      canvas.height = 1;
      if (isInput) {
        canvas.title = nodeName(0, i);
        // The names beside the first column of inputs.
        if (place.x === LABEL) {
          const label = document.createElement("span");
          label.className = "input-name";
          label.textContent = nodeName(0, i);
          label.style.top = `${place.y + NODE / 2 - 8}px`;
          label.style.width = `${LABEL - 4}px`;
          area.append(label);
        }
      } else {
        canvas.dataset.layer = j - 1;
        canvas.dataset.neuron = i;
        canvas.title = `${nodeName(j, i)}${plane ? ": click to enlarge" : ""}`;
        if (plane) canvas.addEventListener("click", () => enlarge(j - 1, i));
      }
      area.append(canvas);
      place.canvas = canvas;
    });
  });
  state.network = { layers, links, hovered: null, cursor: 0 };
  // The inputs' pictures do not change while it trains.
  const grids = info.network.input_grids;
  if (grids) grids.forEach((grid, i) => layers[0].nodes[i] && paintCells(layers[0].nodes[i].canvas, grid, NEURON_LUT, 1));
  $("remove-layer").disabled = hidden === 0;
  $("add-layer").disabled = hidden >= state.options.limits.hidden_layers;
}

function paintNeurons(neurons) {
  const layers = state.network.layers;
  neurons.forEach((layer, l) => {
    const nodes = layers[l + 1] ? layers[l + 1].nodes : [];
    layer.forEach((grid, n) => nodes[n] && paintCells(nodes[n].canvas, grid, NEURON_LUT, 1));
  });
}

// Each link's colour is its weight's sign, its width and opacity the
// weight's size. A link is restyled only when its look changes, and its
// title (the weight) is written when the pointer is on it. A frame
// restyles links for at most LINK_BUDGET_MS, from where the last one
// stopped: every link of a network of a few thousand each frame, a larger
// network's over a few frames, and the page keeps up.
const LINK_BUDGET_MS = 6;

function paintLinks(frame) {
  const network = state.network;
  const links = network.links;
  if (links.length === 0) return;
  const started = performance.now();
  const weights = frame.weights;
  let k = network.cursor % links.length;
  for (let done = 0; done < links.length; done++) {
    if ((done & 255) === 255 && performance.now() - started > LINK_BUDGET_MS) break;
    const link = links[k];
    k = k + 1 === links.length ? 0 : k + 1;
    const w = Number(weights[link.l][link.n][link.i]);
    const size = Number.isFinite(w) ? Math.min(Math.abs(w), 4) : 0;
    const width = Math.round((0.4 + 1.4 * size) * 10) / 10;
    const opacity = Math.round((0.25 + 0.75 * Math.min(size, 1)) * 20) / 20;
    // Width, opacity and sign in one number.
    const look = (w < 0 ? -1 : 1) * (width * 100 + opacity);
    if (look === link.look) continue;
    link.look = look;
    link.line.setAttribute("stroke", !Number.isFinite(w) ? "#999" : w < 0 ? rgb(NEGATIVE) : rgb(POSITIVE));
    link.line.setAttribute("stroke-width", width);
    link.line.setAttribute("stroke-opacity", opacity);
  }
  network.cursor = k;
  if (network.hovered !== null) titleLink(network.hovered);
}

// A link's title: its weight now.
function titleLink(k) {
  const link = state.network.links[k];
  const frame = state.frame;
  if (!link || !frame) return;
  const weight = frame.weights[link.l][link.n][link.i];
  link.title.textContent = `${link.prefix}${Number(weight)}`;
}

function enlarge(layer, neuron) {
  state.focus = [layer, neuron];
  const output = layer === state.info.network.widths.length - 2;
  $("enlarged-title").textContent = `${output ? `output ${neuron + 1}` : `layer ${layer + 1}, neuron ${neuron + 1}`}: its output over the plane`;
  const canvas = $("enlarged-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  $("enlarged").hidden = false;
  engine.post({ type: "focus", focus: state.focus });
}

function closeEnlarged() {
  $("enlarged").hidden = true;
  state.focus = null;
  engine.post({ type: "focus", focus: null });
}

function changeWidth(layer, delta) {
  const widths = [...state.info.settings.hidden];
  widths[layer] = Math.max(1, Math.min(state.options.limits.width, widths[layer] + delta));
  configure({ ...state.info.settings, hidden: widths });
}

function changeLayers(delta) {
  const widths = [...state.info.settings.hidden];
  if (delta > 0) widths.push(widths.length ? widths[widths.length - 1] : 4);
  else widths.pop();
  configure({ ...state.info.settings, hidden: widths });
}

// ---- downloads ---------------------------------------------------------------

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

const saveSvg = (svg, name) => saveBlob(new Blob([svg], { type: "image/svg+xml" }), name);
const saveCanvas = (canvas, name) => canvas.toBlob((blob) => saveBlob(blob, name), "image/png");
const escapeXml = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, "0")).join("")}`;

async function saveModel() {
  const answer = await engine.call({ type: "model" });
  if (answer.error) {
    showError(`The model could not be saved: ${answer.error}`);
    return;
  }
  saveBlob(new Blob([answer.bytes], { type: "application/octet-stream" }), "micrograd-model.safetensors");
}

// The boundary as SVG: each row's runs of one colour as a rectangle, the
// points as circles (held-out ones as rings, when shown).
function boundarySvg() {
  const size = 400;
  const d = state.info.data;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">`];
  parts.push(`<rect width="${size}" height="${size}" fill="${hex(NEUTRAL)}"/>`);
  const frame = state.frame;
  const pictures = state.pictures;
  if (frame && frame.boundary && pictures) {
    const { side, cells } = frame.boundary;
    const cell = size / side;
    const color = (i) => {
      const at = (cells[2 * i] * 256 + cells[2 * i + 1]) * 4;
      return hex([pictures.lut[at], pictures.lut[at + 1], pictures.lut[at + 2]]);
    };
    for (let row = 0; row < side; row++) {
      let start = 0;
      for (let column = 1; column <= side; column++) {
        if (column < side && color(row * side + column) === color(row * side + start)) continue;
        parts.push(`<rect x="${(start * cell).toFixed(2)}" y="${(row * cell).toFixed(2)}" width="${((column - start) * cell).toFixed(2)}" height="${cell.toFixed(2)}" fill="${color(row * side + start)}"/>`);
        start = column;
      }
    }
  }
  if (d.x) {
    const r = d.x.length > 1000 ? 2.5 : 4;
    for (let i = 0; i < d.x.length; i++) {
      const held = d.test[i];
      if (held && !state.view.showTest) continue;
      const [px, py] = toPixel(d, size, size, d.x[i]);
      const color = hex(pointColor(d, i));
      parts.push(held
        ? `<circle cx="${px.toFixed(2)}" cy="${py.toFixed(2)}" r="${r}" fill="#fff" fill-opacity="0.75" stroke="${color}" stroke-width="2"/>`
        : `<circle cx="${px.toFixed(2)}" cy="${py.toFixed(2)}" r="${r}" fill="${color}" stroke="#fff"/>`);
    }
  }
  parts.push("</svg>");
  return parts.join("\n");
}

function curvesSvg() {
  const width = 600;
  const height = 260;
  const layout = curveLayout(width, height);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  if (layout) {
    const { pad } = layout;
    for (const d of layout.decades) {
      parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${d.y.toFixed(2)}" y2="${d.y.toFixed(2)}" stroke="#e4e4e4"/>`);
      parts.push(`<text x="4" y="${(d.y + 4).toFixed(2)}" fill="#666">${escapeXml(d.text)}</text>`);
    }
    if (layout.hasAccuracy) {
      for (const a of [0, 0.5, 1]) parts.push(`<text x="${width - pad.right + 4}" y="${(layout.yAccuracy(a) + 4).toFixed(2)}" fill="#666">${a * 100}%</text>`);
    }
    parts.push(`<text x="${pad.left}" y="${height - 4}" fill="#666">step ${layout.first}</text>`);
    parts.push(`<text x="${width - pad.right}" y="${height - 4}" fill="#666" text-anchor="end">${layout.last}</text>`);
    let legendX = pad.left;
    for (const l of layout.lines) {
      const dash = l.dash.length ? ` stroke-dasharray="${l.dash.join(" ")}"` : "";
      const points = l.points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(" ");
      parts.push(`<polyline fill="none" stroke="${l.color}" stroke-width="1.5"${dash} points="${points}"/>`);
      parts.push(`<line x1="${legendX}" x2="${legendX + 16}" y1="7" y2="7" stroke="${l.color}" stroke-width="1.5"${dash}/>`);
      parts.push(`<text x="${legendX + 20}" y="11" fill="${l.color}">${escapeXml(l.name)}</text>`);
      legendX += 30 + 6 * l.name.length;
    }
  }
  parts.push("</svg>");
  return parts.join("\n");
}

// The graph's SVG drawn on a canvas, as PNG.
function saveGraphPng() {
  if (!state.graph) return;
  const url = URL.createObjectURL(new Blob([state.graph.svg], { type: "image/svg+xml" }));
  const image = new Image();
  image.onload = () => {
    // At most 8192 pixels on a side and 16 million in all, within every
    // browser's limits for a canvas.
    const [w, h] = [image.naturalWidth || 800, image.naturalHeight || 600];
    const scale = Math.min(2, 8192 / Math.max(w, h), Math.sqrt(16e6 / (w * h)));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    URL.revokeObjectURL(url);
    saveCanvas(canvas, `${state.graph.name}.png`);
  };
  image.onerror = () => {
    URL.revokeObjectURL(url);
    show("graph-error", "The graph could not be drawn as PNG.");
  };
  image.src = url;
}

// ---- graphs ------------------------------------------------------------------

function clearGraph() {
  state.graph = null;
  $("graph").replaceChildren();
  $("graph-result").textContent = "";
  $("download-graph-svg").disabled = true;
  $("download-graph-png").disabled = true;
}

function showGraph(svg, name) {
  hide("graph-error");
  state.graph = { svg, name };
  const image = new Image();
  image.alt = "the graph";
  image.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  image.onload = () => URL.revokeObjectURL(image.src);
  image.title = "click: full size or fit";
  image.addEventListener("click", () => image.classList.toggle("full"));
  $("graph").replaceChildren(image);
  $("download-graph-svg").disabled = false;
  $("download-graph-png").disabled = false;
}

// A graph's error, in the graph's panel, the old picture gone; an
// expression's with a caret under where it is (unless the engine's
// message draws one).
function graphError(answer, expr) {
  clearGraph();
  let text = errorText(answer);
  if (answer.position !== undefined && expr !== undefined && !text.includes("\n")) {
    const before = new TextDecoder().decode(new TextEncoder().encode(expr).slice(0, answer.position));
    text += `\n${expr}\n${" ".repeat(before.length)}^`;
  }
  show("graph-error", text);
}

function parseValues(text) {
  const values = {};
  for (const pair of text.trim().split(/[\s,]+/).filter((p) => p !== "")) {
    const at = pair.indexOf("=");
    const name = at < 0 ? "" : pair.slice(0, at).trim();
    const value = at < 0 ? "" : pair.slice(at + 1).trim();
    const number = Number(value);
    if (name === "" || value === "" || !Number.isFinite(number)) return { why: `\`${pair}\`: expected NAME=VALUE, like x=2.5` };
    values[name] = number;
  }
  return { values };
}

async function drawExpression() {
  const expr = $("expression").value;
  const values = parseValues($("values").value);
  if (values.why) {
    graphError({ error: values.why });
    return;
  }
  $("graph-result").textContent = "drawing…";
  const answer = await engine.request({ op: "expression", expr, values: values.values });
  if (answer.error) {
    graphError(answer, expr);
    return;
  }
  const grads = Object.entries(answer.grads).map(([name, g]) => `d/d${name} = ${g}`).join(", ");
  const why = answer.not_finite ? ` (not finite: ${answer.not_finite})` : "";
  showGraph(answer.svg, "micrograd-graph");
  $("graph-result").textContent = `value ${answer.value}${grads ? `; ${grads}` : ""}${why}; ${answer.nodes} nodes`;
}

async function drawPoint() {
  if (!state.info) return;
  const point = readInteger($("point").value.trim(), 0, state.info.data.points - 1, `a point: 0 to ${state.info.data.points - 1}`);
  if (point.why) {
    graphError({ error: `Expected ${point.why}.` });
    return;
  }
  $("graph-result").textContent = "drawing…";
  const answer = await engine.request({ op: "point", point: point.value });
  if (answer.error) {
    graphError(answer);
    return;
  }
  const d = state.info.data;
  const where = d.x ? ` (${d.x[point.value].map((v) => Number(v).toFixed(3)).join(", ")})` : "";
  showGraph(answer.svg, `micrograd-point-${point.value}`);
  $("graph-result").textContent = `point ${point.value}${where}, target ${d.y[point.value]}${d.test[point.value] ? ", held out" : ""}: its loss ${answer.loss}, backpropagated; ${answer.nodes} nodes`;
}

// The data point nearest a click on the boundary.
function pointAt(event) {
  const d = state.info && state.info.data;
  if (!d || !d.x) return null;
  const box = $("boundary").getBoundingClientRect();
  const [cx, cy] = [event.clientX - box.left, event.clientY - box.top];
  let best = null;
  let distance = Infinity;
  d.x.forEach((p, i) => {
    if (d.test[i] && !state.view.showTest) return;
    const [px, py] = toPixel(d, box.width, box.height, p);
    const dd = (px - cx) ** 2 + (py - cy) ** 2;
    if (dd < distance) [best, distance] = [i, dd];
  });
  return best;
}

// ---- a link, opened ------------------------------------------------------

// Opens the setup a link gives: what it says that can be read, the rest
// ignored with a message; a setup the engine refuses opens the default.
async function openLink(hash) {
  const { settings, view, ignored } = readHash(hash);
  const notes = [];
  if (ignored.length > 0) notes.push(`Ignored from the link: ${ignored.join("; ")}.`);
  state.view = { speed: DEFAULT_SPEED, discretize: false, showTest: false, ...view };
  showView();
  let answer = await configureBase(settings.dataset);
  if (answer.error && settings.dataset !== undefined) {
    notes.push(`The link's dataset could not be opened (${errorText(answer)}): the default setup is shown.`);
    answer = await configureBase(undefined);
  } else if (!answer.error && Object.keys(settings).length > (settings.dataset === undefined ? 0 : 1)) {
    const full = await configure({ ...answer.settings, ...settings }, { quiet: true });
    if (full.error) {
      notes.push(`The link's setup could not be trained (${errorText(full)}): the default setup is shown.`);
      answer = await configureBase(undefined);
    }
  }
  if (answer.error) {
    showError(`The engine refused even the default setup: ${errorText(answer)}`);
    return;
  }
  if (notes.length > 0) show("notice", notes.join(" "));
  else hide("notice");
  updateUrl();
}

// ---- wiring ------------------------------------------------------------------

function setView(name, value) {
  state.view[name] = value;
  const pictures = state.pictures;
  if (name === "discretize" && pictures) {
    pictures.lut = boundaryLut(state.info.data.task, pictures.classes, value);
    if (state.frame && state.frame.boundary) paintCells(pictures.small, state.frame.boundary, pictures.lut, 2);
    drawBoundary();
  }
  if (name === "showTest" && pictures) {
    drawPoints(pictures, state.info);
    drawBoundary();
  }
  if (name === "speed") engine.post({ type: "speed", speed: speedValue() });
  updateUrl();
}

function wire() {
  $("play").addEventListener("click", play);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", stepOnce);
  $("reset").addEventListener("click", () => busy(reset));
  $("dataset").addEventListener("change", () => busy(changeDataset));
  for (const id of Object.keys(SETTING_OF)) $(id).addEventListener("change", () => busy(() => changeSetting(id)));
  $("test").addEventListener("input", () => {
    $("test-value").textContent = `${Math.round(Number($("test").value) * 100)}%`;
  });
  for (const form of document.querySelectorAll("form")) form.addEventListener("submit", (e) => e.preventDefault());
  $("add-layer").addEventListener("click", () => busy(() => changeLayers(1)));
  $("remove-layer").addEventListener("click", () => busy(() => changeLayers(-1)));
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (file) await busy(() => upload(file));
    $("upload").value = "";
  });
  $("speed").addEventListener("change", () => setView("speed", $("speed").value));
  $("discretize").addEventListener("change", () => setView("discretize", $("discretize").checked));
  $("show-test").addEventListener("change", () => setView("showTest", $("show-test").checked));
  $("download-model").addEventListener("click", saveModel);
  $("download-boundary-svg").addEventListener("click", () => state.info && saveSvg(boundarySvg(), "micrograd-boundary.svg"));
  $("download-boundary-png").addEventListener("click", () => saveCanvas($("boundary"), "micrograd-boundary.png"));
  $("download-curves-svg").addEventListener("click", () => saveSvg(curvesSvg(), "micrograd-curves.svg"));
  $("download-curves-png").addEventListener("click", () => saveCanvas($("curves"), "micrograd-curves.png"));
  $("download-graph-svg").addEventListener("click", () => state.graph && saveSvg(state.graph.svg, `${state.graph.name}.svg`));
  $("download-graph-png").addEventListener("click", saveGraphPng);
  $("expression-form").addEventListener("submit", drawExpression);
  $("point-form").addEventListener("submit", drawPoint);
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
  // A hash typed or pasted into this tab opens as a link.
  window.addEventListener("hashchange", () => {
    if (location.hash !== state.lastHash && state.options) busy(() => openLink(location.hash));
  });
}

// Until the page is ready (or cannot be), it is busy.
async function start() {
  document.body.dataset.busy = 1;
  try {
    await open();
  } finally {
    document.body.dataset.busy = busyCount;
  }
}

async function open() {
  if (location.protocol === "file:") {
    showError(
      "This page trains in a worker, which browsers do not start for a page opened from a file. " +
      "Serve its folder and open it from there:\n  python3 -m http.server -d DIR 8000\nthen open http://localhost:8000/",
    );
    return;
  }
  wire();
  try {
    await engine.start();
  } catch (e) {
    showError(`The engine could not be loaded: ${e.message}. The page needs its files (worker.js, engine.wasm) served beside it, and a browser with WebAssembly.`);
    return;
  }
  const options = await engine.request({ op: "options" });
  if (options.error) {
    showError(`The engine could not start: ${options.error}`);
    return;
  }
  state.options = options;
  fillSelect($("dataset"), options.datasets);
  fillSelect($("activation"), options.activations);
  fillSelect($("loss"), options.losses);
  fillSelect($("optimizer"), options.optimizers);
  fillSelect($("schedule"), options.schedules);
  fillFeatures(options.features);
  $("points").max = options.limits.points;
  await busy(() => openLink(location.hash));
}

start();
