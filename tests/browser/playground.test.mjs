// The playground in a real browser, end to end: its exported static files,
// served by a plain static server (Python's http.server), used in Debian's
// Chromium (headless, driven by playwright-core) as a learner would. The
// page trains in the browser: nothing but its own files may be requested.
// Screenshots and the measured numbers go to target/playground-screenshots/.
//
//   node tests/browser/playground.test.mjs DIR path/to/micrograd
//
// DIR holds the exported page (index.html, app.js, style.css, worker.js,
// engine.wasm); `micrograd` is the CLI, whose demo run the page must match
// to the bit. Exits 1 if any check fails.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const USAGE = "usage: node tests/browser/playground.test.mjs DIR path/to/micrograd";
const FILES = ["index.html", "app.js", "style.css", "worker.js", "engine.wasm"];
const shots = join(root, "target/playground-screenshots");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

// The bounds.
const SPIRAL_DEADLINE_MS = 60_000; // spiral at 90% training accuracy after play
const STEPS_PER_SECOND = 60; // while playing the spiral
const PAINTS_PER_SECOND = 10; // boundary repaints while playing
const FIRST_PAINT_MS = 1_000; // from navigation to the first boundary painted
const NARROW = 360; // no horizontal overflow at this width
const GZIPPED_BYTES = 1_500_000; // the whole page, each file gzipped

const results = [];
const measured = {};

async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push([name, true]);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.message.split("\n")[0]}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const byTestId = (id) => `[data-testid="${id}"]`;

// The loss the CLI prints at `step` of `micrograd train --dataset demo`.
function cliDemoLoss(binary, step) {
  const run = spawnSync(binary, ["train", "--dataset", "demo", "--json"], { encoding: "utf8", timeout: 120_000 });
  if (run.error) throw new Error(`${binary} could not run: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${binary} train --dataset demo --json exited ${run.status}: ${run.stderr.trim().split("\n").pop()}`);
  for (const line of run.stdout.split("\n")) {
    let record;
    try {
      record = JSON.parse(line);
    } catch (_) {
      continue;
    }
    if (record && record.step === step && record.loss !== undefined) return record.loss;
  }
  throw new Error(`no {"step":${step}, "loss":...} line in the output of ${binary} train --dataset demo --json`);
}

// A static server of `dir`, and its origin from the line it prints.
async function startServer(dir) {
  const server = spawn("python3", ["-u", "-m", "http.server", "--bind", "127.0.0.1", "0", "-d", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  createInterface({ input: server.stderr }).on("line", (line) => log.push(line));
  const lines = createInterface({ input: server.stdout });
  const origin = await new Promise((resolveOrigin, reject) => {
    const timer = setTimeout(() => reject(new Error("python3 -m http.server printed no `Serving HTTP` line within 10 s")), 10_000);
    lines.on("line", (line) => {
      const match = /port (\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveOrigin(`http://127.0.0.1:${match[1]}`);
      }
    });
    server.once("exit", (code) => reject(new Error(`python3 -m http.server exited with ${code}: ${log.join(" | ")}`)));
  });
  return { server, origin, log };
}

// The page's readouts.
const readNumbers = (page) =>
  page.evaluate(() => {
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    return {
      step: Number(q("step-count").textContent),
      paints: Number(q("boundary").dataset.paints),
      accuracy: parseFloat(q("accuracy").textContent),
      time: performance.now(),
    };
  });

// Until every configure the page started is done.
const settled = (page) => page.waitForFunction(() => document.body.dataset.busy === "0");

async function openPage(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await settled(page);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="boundary"]').dataset.paints) > 0);
  return page;
}

async function main() {
  const [dirArg, binary] = process.argv.slice(2);
  if (!dirArg || !binary) {
    console.error(USAGE);
    process.exit(2);
  }
  const dir = resolve(dirArg);
  const missing = FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    console.error(`${dir} lacks the page's ${missing.join(", ")}\n${USAGE}`);
    process.exit(2);
  }
  if (!existsSync(CHROMIUM)) {
    console.error(`no Chromium at ${CHROMIUM} (set CHROMIUM to its path)`);
    process.exit(2);
  }
  mkdirSync(shots, { recursive: true });

  const { server, origin, log } = await startServer(dir);
  const url = `${origin}/`;
  console.log(`serving ${dir} at ${url}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });

  // Every request, console error and page error of every page served.
  const requests = [];
  const consoleErrors = [];
  const watch = (context) => {
    context.on("request", (request) => requests.push(request.url()));
    context.on("page", (page) => {
      page.on("console", (message) => {
        if (message.type() === "error") consoleErrors.push(`${page.url()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
      page.setDefaultTimeout(20_000);
    });
    return context;
  };
  const newContext = async (options = {}) => watch(await browser.newContext({ viewport: { width: 1360, height: 1000 }, acceptDownloads: true, ...options }));

  try {
    await check(`the whole page is under ${GZIPPED_BYTES} bytes gzipped`, async () => {
      const sizes = Object.fromEntries(FILES.map((f) => [f, gzipSync(readFileSync(join(dir, f)), { level: 9 }).length]));
      const total = Object.values(sizes).reduce((a, b) => a + b, 0);
      measured.gzipped_bytes = { ...sizes, total };
      assert(total < GZIPPED_BYTES, `${total} bytes gzipped: ${JSON.stringify(sizes)}`);
    });

    const context = await newContext();
    let page;
    let defaults;

    await check("the page loads: every control, the first boundary within 1 s of navigation", async () => {
      // A first load wakes the browser; the one measured has a cold cache.
      const warm = await openPage(context, url);
      measured.first_paint_ms_warm_up = Number(await warm.locator(byTestId("boundary")).getAttribute("data-first-paint-ms"));
      await warm.close();
      const fresh = await newContext();
      const cold = await openPage(fresh, url);
      const firstPaint = Number(await cold.locator(byTestId("boundary")).getAttribute("data-first-paint-ms"));
      measured.first_paint_ms = firstPaint;
      await fresh.close();
      page = await openPage(context, url);
      const ids = [
        "reset", "play", "pause", "step", "step-count", "dataset", "upload", "hidden-layers", "loss", "accuracy",
        "boundary", "error", "test-loss", "test-accuracy", "features", "discretize", "regularization", "share",
        "show-test", "test-split", "notice", "graph-error", "download-model", "download-boundary-svg",
        "download-boundary-png", "download-curves-svg", "download-curves-png", "download-graph-svg", "download-graph-png",
      ];
      for (const id of ids) assert((await page.locator(byTestId(id)).count()) === 1, `no one element with data-testid=${id}`);
      defaults = {
        dataset: await page.inputValue(byTestId("dataset")),
        hidden: await page.inputValue(byTestId("hidden-layers")),
      };
      await page.screenshot({ path: join(shots, "01-loaded.png"), fullPage: true });
      console.log(`     first boundary painted ${firstPaint} ms after navigation (a warm-up load: ${measured.first_paint_ms_warm_up} ms)`);
      assert(Number.isFinite(firstPaint) && firstPaint <= FIRST_PAINT_MS, `the first boundary was painted ${firstPaint} ms after navigation; at most ${FIRST_PAINT_MS}`);
      assert(await page.locator(byTestId("error")).isHidden(), `an error is shown: ${await page.locator(byTestId("error")).innerText()}`);
    });

    let early;
    let playedAt;
    await check(`spiral trains at ${STEPS_PER_SECOND}+ steps/s with ${PAINTS_PER_SECOND}+ boundary paints/s`, async () => {
      await page.selectOption(byTestId("dataset"), "spiral");
      await settled(page);
      await page.waitForFunction(() => location.hash.startsWith("#dataset=spiral"));
      assert((await page.inputValue(byTestId("hidden-layers"))) === "32,32", "spiral opens with its preset's 32,32");
      await page.click(byTestId("play"));
      playedAt = Date.now();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="step-count"]').textContent) >= 1);
      early = await page.locator(byTestId("boundary")).screenshot({ path: join(shots, "02-spiral-early.png") });
      await page.waitForTimeout(500);
      const from = await readNumbers(page);
      await page.waitForTimeout(3_000);
      const to = await readNumbers(page);
      const seconds = (to.time - from.time) / 1000;
      measured.steps_per_second = (to.step - from.step) / seconds;
      measured.paints_per_second = (to.paints - from.paints) / seconds;
      console.log(`     ${measured.steps_per_second.toFixed(1)} steps/s, ${measured.paints_per_second.toFixed(1)} boundary paints/s over ${seconds.toFixed(2)} s`);
      assert(measured.steps_per_second >= STEPS_PER_SECOND, `${measured.steps_per_second.toFixed(1)} steps/s; at least ${STEPS_PER_SECOND}`);
      assert(measured.paints_per_second >= PAINTS_PER_SECOND, `${measured.paints_per_second.toFixed(1)} paints/s; at least ${PAINTS_PER_SECOND}`);
    });

    await check("spiral reaches 90% training accuracy within 60 s of play", async () => {
      assert(playedAt !== undefined, "the spiral did not start");
      const left = Math.max(1, SPIRAL_DEADLINE_MS - (Date.now() - playedAt));
      await page.waitForFunction(
        () => parseFloat(document.querySelector('[data-testid="accuracy"]').textContent) >= 90,
        null,
        { timeout: left, polling: 50 },
      );
      measured.spiral_seconds_to_90 = (Date.now() - playedAt) / 1000;
      const accuracy = await page.innerText(byTestId("accuracy"));
      assert(/^\d+\.\d%$/.test(accuracy), `accuracy reads like 97.0%: ${accuracy}`);
      console.log(`     ${accuracy} after ${await page.innerText(byTestId("step-count"))} steps, ${measured.spiral_seconds_to_90.toFixed(2)} s after play`);
      await page.waitForTimeout(1_000);
      const later = await page.locator(byTestId("boundary")).screenshot({ path: join(shots, "03-spiral-later.png") });
      assert(early && !early.equals(later), "the boundary looks the same as at the first step");
      await page.screenshot({ path: join(shots, "04-spiral-page.png"), fullPage: true });
    });

    await check("pause holds the step count, and step takes one step", async () => {
      await page.click(byTestId("pause"));
      await page.waitForFunction(() => document.querySelector('[data-testid="play"]').disabled === false);
      await page.waitForTimeout(300);
      const paused = await page.innerText(byTestId("step-count"));
      await page.waitForTimeout(1_000);
      const later = await page.innerText(byTestId("step-count"));
      assert(paused === later, `the count moved from ${paused} to ${later} while paused`);
      assert(Number(paused) > 0, "no steps were taken");
      await page.click(byTestId("step"));
      await page.waitForFunction((n) => document.querySelector('[data-testid="step-count"]').textContent === String(n), Number(paused) + 1);
    });

    await check("100 steps of the demo give the CLI's loss at step 99, to the bit", async () => {
      const expected = cliDemoLoss(binary, 99);
      await page.selectOption(byTestId("dataset"), "demo");
      await settled(page);
      await page.waitForFunction(() => location.hash.startsWith("#dataset=demo") && document.querySelector('[data-testid="step-count"]').textContent === "0");
      for (let i = 0; i < 100; i++) await page.click(byTestId("step"));
      await page.waitForFunction(() => document.querySelector('[data-testid="step-count"]').textContent === "100");
      const shown = await page.locator(byTestId("loss")).getAttribute("data-value");
      measured.demo_loss_page = shown;
      measured.demo_loss_cli = String(expected);
      console.log(`     page ${shown}, CLI ${expected}`);
      await page.screenshot({ path: join(shots, "05-demo-100-steps.png"), fullPage: true });
      assert(shown !== null && Number(shown) === Number(expected), `the page's loss after 100 steps is ${shown}; the CLI's at step 99 is ${expected}`);
    });

    await check("a shared link restores the dataset, the network, the features and the split", async () => {
      const options = await page.evaluate(() => [...document.querySelectorAll('[data-testid="dataset"] option')].map((o) => o.value));
      const dataset = options.includes("xor") ? "xor" : "circles";
      await page.selectOption(byTestId("dataset"), dataset);
      await settled(page);
      await page.fill(byTestId("hidden-layers"), "5,3");
      await page.locator(byTestId("hidden-layers")).dispatchEvent("change");
      await settled(page);
      await page.$eval(byTestId("test-split"), (input) => {
        input.value = "0.3";
        input.dispatchEvent(new Event("change"));
      });
      await settled(page);
      const featureNames = await page.evaluate(() => [...document.querySelectorAll('[data-testid="features"] input')].map((i) => i.value));
      assert(featureNames.includes("x1*x2"), `the features offered are [${featureNames.join(", ")}]: no x1*x2`);
      await page.check(`${byTestId("features")} input[value="x1*x2"]`);
      await settled(page);
      const error = page.locator(byTestId("error"));
      assert(await error.isHidden(), `an error is shown: ${await error.innerText().catch(() => "")}`);
      const href = await page.locator(byTestId("share")).getAttribute("href");
      console.log(`     ${href}`);
      const shared = await openPage(context, href);
      const checked = await shared.evaluate(() => [...document.querySelectorAll('[data-testid="features"] input:checked')].map((i) => i.value));
      const got = {
        dataset: await shared.inputValue(byTestId("dataset")),
        hidden: await shared.inputValue(byTestId("hidden-layers")),
        test: await shared.inputValue(byTestId("test-split")),
        features: checked.join(","),
      };
      await shared.screenshot({ path: join(shots, "06-shared-link.png"), fullPage: true });
      const want = { dataset, hidden: "5,3", test: "0.3", features: "x1,x2,x1*x2" };
      assert(JSON.stringify(got) === JSON.stringify(want), `the link opened ${JSON.stringify(got)}; expected ${JSON.stringify(want)}`);
      assert(await shared.locator(byTestId("notice")).isHidden(), `a notice is shown: ${await shared.innerText(byTestId("notice"))}`);
      const held = await shared.innerText(byTestId("data-summary"));
      assert(/held out/.test(held), `the data summary says nothing is held out: ${held}`);
      await shared.close();
    });

    await check("a hostile link opens the default setup with a message, and no console errors", async () => {
      const garbage = [
        "dataset=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "hidden=-1,abc,99999999999999999999", "lr=1e999", "points=99999999999",
        "noise=NaN", "features=rm%20-rf", "seed=0x10", "speed=warp", "discretize=maybe", "%E0%A4%A", "colour=red", "test=1",
        "batch=-5", "l1=Infinity", "steps=0", "=", "&&", `x=${"z".repeat(300)}`,
      ].join("&");
      const before = consoleErrors.length;
      const hostile = await openPage(context, `${url}#${garbage}`);
      const notice = hostile.locator(byTestId("notice"));
      await notice.waitFor({ state: "visible" });
      const message = await notice.innerText();
      assert(/ignored/i.test(message) && message.includes("lr=1e999") && message.includes("colour"), `the message: ${message}`);
      const got = { dataset: await hostile.inputValue(byTestId("dataset")), hidden: await hostile.inputValue(byTestId("hidden-layers")) };
      assert(JSON.stringify(got) === JSON.stringify(defaults), `opened ${JSON.stringify(got)}; the default is ${JSON.stringify(defaults)}`);
      assert(await hostile.locator(byTestId("error")).isHidden(), `an error is shown: ${await hostile.innerText(byTestId("error"))}`);
      await hostile.screenshot({ path: join(shots, "07-hostile-link.png"), fullPage: true });
      // A setup each of whose values is fine but which the engine refuses.
      const refused = await openPage(context, `${url}#dataset=demo&hidden=64,64,64,64,64,64`);
      const why = await refused.innerText(byTestId("notice"));
      assert(/default setup/.test(why), `the message for a setup the engine refuses: ${why}`);
      assert((await refused.inputValue(byTestId("dataset"))) === defaults.dataset, "the refused setup did not fall back to the default");
      // A link to an uploaded file asks for the file again.
      const uploaded = await openPage(context, `${url}#dataset=upload&hidden=4`);
      assert(/upload the file again/.test(await uploaded.innerText(byTestId("notice"))), "no word about uploading the file again");
      await Promise.all([hostile.close(), refused.close(), uploaded.close()]);
      const errors = consoleErrors.slice(before);
      assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
    });

    await check("the link reader, fuzzed: 150 seeded random links each open a working page", async () => {
      // Mutations of real links and random bytes, from a fixed seed
      // (a 32-bit xorshift), so a failure names a link that can be replayed.
      let state = 0x9e3779b9;
      const random = () => {
        state ^= state << 13; state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5; state >>>= 0;
        return state / 2 ** 32;
      };
      const pick = (list) => list[Math.floor(random() * list.length)];
      const keys = ["dataset", "points", "noise", "seed", "test", "features", "hidden", "activation", "loss", "optimizer", "lr", "schedule", "batch", "l1", "l2", "steps", "speed", "discretize", "show-test", "", "=", "%", "constructor", "__proto__"];
      const values = ["spiral", "xor", "plane", "upload", "demo", "0", "-1", "1e309", "NaN", "0.5", "x1,x2,x1*x2", "sin(x1)", "64,64", ",", "%00", "%E0%A4", "<b>", "'", "\"", "max", "1", "true", "9".repeat(40), ""];
      const link = () => {
        const parts = [];
        for (let n = Math.floor(random() * 6); n >= 0; n--) {
          if (random() < 0.15) {
            parts.push(Array.from({ length: Math.floor(random() * 12) }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join(""));
          } else {
            parts.push(`${pick(keys)}=${pick(values)}`);
          }
        }
        return parts.join(random() < 0.9 ? "&" : ";");
      };
      const before = consoleErrors.length;
      const fuzzed = await openPage(context, url);
      const broken = [];
      for (let i = 0; i < 150; i++) {
        const hash = link();
        await fuzzed.evaluate((h) => { location.hash = h; }, hash);
        await fuzzed.waitForFunction(() => document.body.dataset.busy === "0");
        const state = await fuzzed.evaluate(() => ({
          dataset: document.querySelector('[data-testid="dataset"]').value,
          options: [...document.querySelector('[data-testid="dataset"]').options].map((o) => o.value),
          hidden: document.querySelector('[data-testid="hidden-layers"]').value,
        }));
        if (!state.options.includes(state.dataset) || !/^(\d+(,\d+)*)?$/.test(state.hidden)) broken.push(`#${hash}: ${JSON.stringify(state)}`);
      }
      // The page still trains after all that.
      await fuzzed.evaluate(() => { location.hash = "dataset=moons"; });
      await fuzzed.waitForFunction(() => document.body.dataset.busy === "0");
      const steps = Number(await fuzzed.innerText(byTestId("step-count")));
      await fuzzed.click(byTestId("step"));
      await fuzzed.waitForFunction((n) => Number(document.querySelector('[data-testid="step-count"]').textContent) === n + 1, steps);
      await fuzzed.close();
      const errors = consoleErrors.slice(before);
      assert(broken.length === 0, `links that broke the page: ${broken.slice(0, 5).join(" | ")}`);
      assert(errors.length === 0, `console errors: ${errors.slice(0, 5).join(" | ")}`);
    });

    await check(`no horizontal overflow at ${NARROW} px, the dataset list whole`, async () => {
      const narrow = await newContext({ viewport: { width: NARROW, height: 800 } });
      const small = await openPage(narrow, `${url}#dataset=spiral`);
      const widths = await small.evaluate(() => {
        const select = document.querySelector('[data-testid="dataset"]').getBoundingClientRect();
        return { scroll: document.documentElement.scrollWidth, selectRight: select.right, selectLeft: select.left };
      });
      await small.screenshot({ path: join(shots, "08-narrow-360.png"), fullPage: true });
      await narrow.close();
      assert(widths.scroll <= NARROW, `the page is ${widths.scroll} px wide at a ${NARROW} px viewport`);
      assert(widths.selectLeft >= 0 && widths.selectRight <= NARROW, `the dataset list spans ${widths.selectLeft} to ${widths.selectRight} px`);
    });

    await check("an uploaded bad CSV shows its line and column; a good one trains", async () => {
      const csv = "x1,x2,label\n0.5,1.0,0\n0.25,oops,1\n";
      await page.setInputFiles(byTestId("upload"), { name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      const error = page.locator(byTestId("error"));
      await error.waitFor({ state: "visible" });
      const message = await error.innerText();
      // Line 3, column (field) 2: `oops`, as `micrograd train --data` says it.
      assert(message.includes("bad.csv:3:2:") && message.includes("oops"), `the error: ${message}`);
      await page.screenshot({ path: join(shots, "09-bad-upload.png") });
      const rows = ["a,b,label"];
      for (let i = 0; i < 40; i++) rows.push(`${(i % 8) / 4 - 1},${Math.floor(i / 8) / 2 - 1},${i % 8 < 4 ? 0 : 1}`);
      await page.setInputFiles(byTestId("upload"), { name: "halves.csv", mimeType: "text/csv", buffer: Buffer.from(rows.join("\n")) });
      await page.waitForFunction(() => document.querySelector('[data-testid="data-summary"]').textContent.startsWith("halves.csv: 40 points"));
      assert(await error.isHidden(), "the error is still shown");
      await page.click(byTestId("play"));
      await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="accuracy"]').textContent) === 100, null, { timeout: 30_000 });
      await page.click(byTestId("pause"));
      const link = await page.locator(byTestId("share")).getAttribute("href");
      assert(link.includes("dataset=upload"), `the link of an upload: ${link}`);
    });

    await check("graphs: an expression's with its gradients; an error in the graph panel clears the picture", async () => {
      await page.click(byTestId("draw-expression"));
      await page.locator(`${byTestId("graph")} img`).waitFor({ state: "visible" });
      // The lecture's neuron: tanh(0.8813735870195432) = 1/√2.
      const result = await page.innerText(byTestId("graph-result"));
      assert(result.includes("value 0.7071067811865476"), `the result: ${result}`);
      assert(result.includes("d/dx1 = -1.4999999999999996"), `the result: ${result}`);
      await page.fill(byTestId("expression"), "tanh(x1*");
      await page.click(byTestId("draw-expression"));
      const graphError = page.locator(byTestId("graph-error"));
      await graphError.waitFor({ state: "visible" });
      assert((await page.locator(`${byTestId("graph")} img`).count()) === 0, "the old picture is still shown beside the error");
      assert(await page.locator(byTestId("download-graph-svg")).isDisabled(), "the graph's download is offered with no graph");
      await page.screenshot({ path: join(shots, "10-graph-error.png"), fullPage: true });
      await page.fill(byTestId("point"), "3");
      await page.click(byTestId("draw-point"));
      await page.locator(`${byTestId("graph")} img`).waitFor({ state: "visible" });
      assert(await graphError.isHidden(), "the graph's error stays after a graph is drawn");
      await page.screenshot({ path: join(shots, "11-graph.png"), fullPage: true });
    });

    await check("downloads: the model, the boundary, the curves and the graph", async () => {
      const png = (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const svg = (b) => {
        const text = b.toString("utf8");
        return text.includes("<svg") && text.trimEnd().endsWith("</svg>");
      };
      // safetensors: an 8-byte little-endian header length, then the header's JSON.
      const safetensors = (b) => b.length > 8 && b[8] === 0x7b && Number(b.readBigUInt64LE(0)) + 8 <= b.length;
      const wanted = [
        ["download-model", safetensors], ["download-boundary-svg", svg], ["download-boundary-png", png],
        ["download-curves-svg", svg], ["download-curves-png", png], ["download-graph-svg", svg], ["download-graph-png", png],
      ];
      for (const [id, looksRight] of wanted) {
        const [download] = await Promise.all([page.waitForEvent("download"), page.click(byTestId(id))]);
        const path = join(shots, `download-${download.suggestedFilename()}`);
        await download.saveAs(path);
        const bytes = readFileSync(path);
        assert(looksRight(bytes), `${id} gave ${download.suggestedFilename()}, ${bytes.length} bytes, not what it should be`);
      }
    });

    await check("no console errors or page errors", async () => {
      assert(consoleErrors.length === 0, `${consoleErrors.length}: ${consoleErrors.join(" | ")}`);
    });

    await check("nothing is requested but the page's own files", async () => {
      const allowed = new Set(["/", "/index.html", ...FILES.map((f) => `/${f}`)]);
      const outside = requests.filter((r) => {
        if (r.startsWith("data:") || r.startsWith(`blob:${origin}/`)) return false; // made in the page
        const u = new URL(r);
        return u.origin !== origin || !allowed.has(u.pathname);
      });
      measured.requests = requests.length;
      assert(requests.length > 0, "no requests were recorded");
      assert(outside.length === 0, `requested: ${[...new Set(outside)].join(", ")}`);
    });

    await check("opened from a file, the page says to serve it", async () => {
      const files = await browser.newContext();
      const local = await files.newPage();
      await local.goto(`file://${join(dir, "index.html")}`);
      const error = local.locator(byTestId("error"));
      await error.waitFor({ state: "visible", timeout: 10_000 });
      const message = await error.innerText();
      await local.screenshot({ path: join(shots, "12-file-url.png") });
      await files.close();
      assert(message.includes("python3 -m http.server"), `the message: ${message}`);
    });
    await context.close();
  } finally {
    await browser.close();
    server.kill("SIGTERM");
    writeFileSync(join(shots, "measurements.json"), `${JSON.stringify(measured, null, 2)}\n`);
  }
  const failed = results.filter(([, ok]) => !ok);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length > 0) {
    console.log(`failed: ${failed.map(([name]) => name).join("; ")}`);
    if (log.length > 0) console.log(`the static server's last lines:\n  ${log.slice(-5).join("\n  ")}`);
  }
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`the browser test could not run: ${e.stack ?? e}`);
  process.exit(1);
});
