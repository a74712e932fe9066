// The page's trainer: micrograd's engine, compiled to WebAssembly
// (engine.wasm, built from crates/playground-engine), run in this worker
// so that training never blocks the page. The page sends requests and
// commands; this worker paces the steps, and sends back each step's
// numbers and, about 15 times a second, the pictures' numbers.
//
// Messages from the page:
//   {type: "start", module}          first: engine.wasm compiled by the page (fetched
//                                    while this script loads), or null to fetch it here
//   {type: "request", id, request}   one engine request (see protocol.rs); answered {type: "answer", id, answer}
//   {type: "upload", id, name, bytes} a file to train on; answered as a request
//   {type: "model", id}              the model's safetensors bytes; answered {type: "answer", id, answer: {bytes} | {error}}
//   {type: "play", speed}            train at `speed` steps a second (Infinity: as fast as it can)
//   {type: "pause"}
//   {type: "speed", speed}
//   {type: "focus", focus}           [layer, neuron] enlarged, or null
// and to it:
//   {type: "ready"} once the engine is loaded, or {type: "failed", message}
//   {type: "tick", steps, frame, rate, playing}   while playing, and after a pause
//   {type: "crashed", message}      the engine hit a bug and was started afresh
// Every grid's cells (a frame's, an Info's input_grids) reach the page as a
// Uint8Array, moved rather than copied.
"use strict";

const FRAMES_PER_SECOND = 15;
// The most of the worker's time frames take while playing: a network whose
// pictures are slow to compute gets fewer of them, and keeps training.
const FRAME_SHARE = 0.4;
// The longest one turn of training keeps the worker from its messages.
const TURN_MS = 15;

let engine = null;
let module = null;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const play = {
  on: false,
  speed: 100,
  pacedAt: 0, // steps are paced from here: step k is due at pacedAt + k/speed
  paced: 0,
  lastFrame: 0,
  frames: 0,
  focus: null,
  rate: [], // [time, step] over the last second
  timer: null,
  stepMs: 1, // a step's time, averaged over the last few
  frameMs: 0, // a frame's, likewise
};

// The time from one frame to the next while playing.
function frameInterval() {
  return Math.max(1000 / FRAMES_PER_SECOND, play.frameMs / FRAME_SHARE);
}

async function load(compiled) {
  if (compiled instanceof WebAssembly.Module) {
    module = compiled;
  } else {
    const url = new URL("engine.wasm", self.location.href);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`engine.wasm: ${response.status} ${response.statusText}`);
    const bytes = await response.arrayBuffer();
    module = await WebAssembly.compile(bytes);
  }
  await instantiate();
}

async function instantiate() {
  const instance = await WebAssembly.instantiate(module, {});
  engine = instance.exports;
  engine.start();
}

function lend(bytes) {
  const ptr = engine.alloc(bytes.length);
  new Uint8Array(engine.memory.buffer, ptr, bytes.length).set(bytes);
  return ptr;
}

function answerBytes() {
  return new Uint8Array(engine.memory.buffer, engine.answer_ptr(), engine.answer_len()).slice();
}

function answerJson() {
  return JSON.parse(decoder.decode(answerBytes()));
}

// Runs a call into the engine; a trap (a bug) is reported, and the engine
// is started afresh, so the page can go on.
function guarded(call) {
  try {
    return call();
  } catch (e) {
    let message = e.message;
    try {
      engine.panic_message();
      const panic = decoder.decode(answerBytes());
      if (panic) message = panic;
    } catch (_) { /* the message stays the trap's */ }
    stop();
    postMessage({ type: "crashed", message });
    instantiate().catch((e2) => postMessage({ type: "failed", message: e2.message }));
    return { error: `the engine stopped on a bug: ${message}` };
  }
}

function request(req) {
  return guarded(() => {
    const bytes = encoder.encode(JSON.stringify(req));
    engine.request(lend(bytes), bytes.length);
    return answerJson();
  });
}

// The grids' cells of an answer as bytes; their buffers join `transfer`.
function packGrids(answer, transfer) {
  const pack = (grid) => {
    if (grid && Array.isArray(grid.cells)) {
      grid.cells = Uint8Array.from(grid.cells);
      transfer.push(grid.cells.buffer);
    }
  };
  if (!answer || answer.error) return answer;
  pack(answer.boundary);
  pack(answer.focus);
  if (answer.neurons) for (const layer of answer.neurons) layer.forEach(pack);
  if (answer.network && answer.network.input_grids) answer.network.input_grids.forEach(pack);
  return answer;
}

// Answers a message with an id, its grids moved.
function reply(id, answer) {
  const transfer = [];
  postMessage({ type: "answer", id, answer: packGrids(answer, transfer) }, transfer);
}

function tick(message) {
  const transfer = [];
  packGrids(message.frame, transfer);
  postMessage({ type: "tick", ...message }, transfer);
}

function upload(name, bytes) {
  return guarded(() => {
    const nameBytes = encoder.encode(name);
    const data = new Uint8Array(bytes);
    const namePtr = lend(nameBytes);
    const dataPtr = lend(data);
    engine.upload(namePtr, nameBytes.length, dataPtr, data.length);
    return answerJson();
  });
}

function model() {
  return guarded(() => {
    const failed = engine.model();
    return failed ? answerJson() : { bytes: answerBytes() };
  });
}

// ---- pacing --------------------------------------------------------------

function stop() {
  play.on = false;
  if (play.timer !== null) clearTimeout(play.timer);
  play.timer = null;
}

function restartPacing(now) {
  play.pacedAt = now;
  play.paced = 0;
}

function frame(neurons) {
  return request({ op: "frame", focus: play.focus, neurons });
}

function rate(now, step) {
  play.rate.push([now, step]);
  while (play.rate.length > 2 && now - play.rate[1][0] >= 1000) play.rate.shift();
  const [then, first] = play.rate[0];
  return now > then ? ((step - first) * 1000) / (now - then) : 0;
}

// One turn: the steps due (as many as fit in a turn when unpaced), then a
// frame if one is due.
function turn() {
  play.timer = null;
  if (!play.on) return;
  const start = performance.now();
  const records = [];
  let last = null;
  for (;;) {
    const now = performance.now();
    let due;
    if (Number.isFinite(play.speed)) {
      due = Math.floor(((now - play.pacedAt) * play.speed) / 1000) - play.paced;
      // Far behind (a slow step, a busy tab): pace from now on.
      if (due > Math.ceil(play.speed / 2)) {
        restartPacing(now);
        due = 1;
      }
    } else {
      due = 1;
    }
    if (due <= 0 || (records.length > 0 && now - start >= TURN_MS)) break;
    // At most what fits in what is left of the turn, at the steps' pace so far.
    const fits = Math.floor((TURN_MS - (now - start)) / play.stepMs);
    const chunk = Math.max(1, Math.min(due, fits, 64));
    const answer = request({ op: "step", steps: chunk });
    const took = performance.now() - now;
    if (answer.records && answer.records.length > 0) {
      play.stepMs = 0.7 * play.stepMs + (0.3 * took) / answer.records.length;
    }
    if (answer.error) {
      stop();
      tick({ steps: { error: answer.error }, frame: null, rate: 0, playing: false });
      return;
    }
    play.paced += answer.records.length;
    records.push(...answer.records);
    last = answer;
    if (answer.stopped || answer.records.length < chunk) {
      play.on = false;
      break;
    }
  }
  const now = performance.now();
  let picture = null;
  if (!play.on || now - play.lastFrame >= frameInterval()) {
    // The neurons' pictures at half the rate while playing.
    picture = frame(!play.on || play.frames % 2 === 0);
    play.frameMs = 0.7 * play.frameMs + 0.3 * (performance.now() - now);
    play.frames += 1;
    play.lastFrame = now;
  }
  if (records.length > 0 || picture) {
    const step = last ? last.step : null;
    tick({
      steps: last ? { step: last.step, records, stopped: last.stopped } : null,
      frame: picture,
      rate: step === null ? null : rate(now, step),
      playing: play.on,
    });
  }
  if (play.on) schedule();
}

function schedule() {
  let wait = 0;
  if (Number.isFinite(play.speed)) {
    const nextStep = play.pacedAt + ((play.paced + 1) * 1000) / play.speed;
    const nextFrame = play.lastFrame + frameInterval();
    wait = Math.max(0, Math.min(nextStep, nextFrame) - performance.now());
  }
  play.timer = setTimeout(turn, wait);
}

// ---- messages --------------------------------------------------------------

onmessage = (event) => {
  const message = event.data;
  if (message.type === "start") {
    if (!engine) {
      load(message.module).then(
        () => postMessage({ type: "ready" }),
        (e) => postMessage({ type: "failed", message: e.message }),
      );
    }
    return;
  }
  if (!engine) {
    if (message.id !== undefined) postMessage({ type: "answer", id: message.id, answer: { error: "the engine is still loading" } });
    return;
  }
  switch (message.type) {
    case "request": {
      const op = message.request.op;
      if (op === "configure" || op === "reset") {
        stop();
        play.rate = [];
      }
      reply(message.id, request(message.request));
      break;
    }
    case "upload":
      stop();
      play.rate = [];
      reply(message.id, upload(message.name, message.bytes));
      break;
    case "model": {
      const answer = model();
      postMessage({ type: "answer", id: message.id, answer }, answer.bytes ? [answer.bytes.buffer] : []);
      break;
    }
    case "play":
      play.speed = message.speed;
      if (!play.on) {
        play.on = true;
        play.rate = [];
        restartPacing(performance.now());
        play.lastFrame = 0;
        turn();
      }
      break;
    case "pause":
      if (play.on) {
        stop();
        const picture = frame(true);
        tick({ steps: null, frame: picture, rate: 0, playing: false });
      }
      break;
    case "speed":
      play.speed = message.speed;
      restartPacing(performance.now());
      break;
    case "focus":
      play.focus = message.focus;
      if (!play.on) tick({ steps: null, frame: frame(false), rate: null, playing: false });
      break;
    default:
      break;
  }
};

