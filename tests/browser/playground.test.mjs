// The playground in a real browser, end to end: `micrograd playground
// --port 0` serves the page, Debian's Chromium (headless, driven by
// playwright-core) uses it as a learner would. Screenshots go to
// target/playground-screenshots/.
//
//   node tests/browser/playground.test.mjs [path/to/micrograd]

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const binary = process.argv[2] ?? join(root, "target/release/micrograd");
const shots = join(root, "target/playground-screenshots");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The bound: spiral at 90% training accuracy within 60 s of play.
const SPIRAL_DEADLINE_MS = 60_000;

const results = [];
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push([name, true]);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// The server, and the URL from the first line it prints.
async function startServer() {
  const server = spawn(binary, ["playground", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: server.stdout });
  const first = await new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error("no `listening on` line within 10 s")), 10_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolveLine(line);
    });
    server.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
  });
  const match = /^listening on (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(first);
  if (!match) throw new Error(`unexpected first line: ${first}`);
  return { server, url: match[1] };
}

const text = (page, id) => page.locator(`[data-testid="${id}"]`).innerText();

async function main() {
  mkdirSync(shots, { recursive: true });
  const { server, url } = await startServer();
  console.log(`server: ${url}`);
  const profile = mkdtempSync(join(tmpdir(), "micrograd-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 1000 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(`uncaught: ${error.message}`));

  try {
    await check("the page loads with no console errors", async () => {
      await page.goto(url);
      await page.locator('[data-testid="dataset"] option[value="spiral"]').waitFor({ state: "attached" });
      // The first frame has painted the network's pictures.
      await page.waitForFunction(() => document.querySelector("#network canvas") !== null);
      await page.waitForTimeout(500);
      for (const id of ["dataset", "hidden-layers", "play", "pause", "step", "reset", "step-count", "loss", "accuracy", "boundary", "upload", "error"]) {
        assert((await page.locator(`[data-testid="${id}"]`).count()) === 1, `no element with data-testid=${id}`);
      }
      await page.screenshot({ path: join(shots, "01-loaded.png") });
      assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(" | ")}`);
    });

    let early;
    let secondsTo90 = null;
    await check("spiral reaches 90% training accuracy within 60 s of play", async () => {
      await page.selectOption('[data-testid="dataset"]', "spiral");
      await page.waitForFunction(() => document.querySelector("#data-summary").textContent.startsWith("spiral"));
      assert((await page.inputValue('[data-testid="hidden-layers"]')) === "32,32", "spiral opens with its preset's 32,32");
      await page.click('[data-testid="play"]');
      const started = Date.now();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="step-count"]').textContent) >= 1);
      early = await page.locator('[data-testid="boundary"]').screenshot({ path: join(shots, "02-boundary-early.png") });
      await page.waitForFunction(
        () => parseFloat(document.querySelector('[data-testid="accuracy"]').textContent) >= 90,
        null,
        { timeout: SPIRAL_DEADLINE_MS, polling: 50 },
      );
      secondsTo90 = (Date.now() - started) / 1000;
      const accuracy = await text(page, "accuracy");
      assert(/^\d+\.\d%$/.test(accuracy), `accuracy reads like 97.0%: ${accuracy}`);
      console.log(`     spiral: ${accuracy} after ${await text(page, "step-count")} steps, ${secondsTo90.toFixed(2)} s after play`);
    });

    await check("the boundary picture changes as it trains", async () => {
      await page.waitForTimeout(1500);
      const later = await page.locator('[data-testid="boundary"]').screenshot({ path: join(shots, "03-boundary-later.png") });
      assert(early && !early.equals(later), "the two screenshots of the boundary are the same");
    });

    await check("an expression's graph is drawn with its gradients", async () => {
      await page.click("#expression-form button");
      await page.locator("#graph img").waitFor({ state: "visible" });
      // The lecture's neuron: tanh(0.8813735870195432) = 1/√2.
      const result = await page.locator("#graph-result").innerText();
      assert(result.includes("value 0.7071067811865476"), `the result: ${result}`);
      assert(result.includes("d/dx1 = -1.4999999999999996"), `the result: ${result}`);
      await page.screenshot({ path: join(shots, "04-page.png"), fullPage: true });
    });

    await check("pause stops the step counter", async () => {
      await page.click('[data-testid="pause"]');
      await page.waitForFunction(() => document.querySelector('[data-testid="play"]').disabled === false);
      await page.waitForTimeout(300);
      const paused = await text(page, "step-count");
      await page.waitForTimeout(1500);
      const later = await text(page, "step-count");
      assert(paused === later, `the counter moved from ${paused} to ${later} while paused`);
      assert(Number(paused) > 0, "no steps were taken");
      // One step moves it by one.
      await page.click('[data-testid="step"]');
      await page.waitForFunction((n) => document.querySelector('[data-testid="step-count"]').textContent === String(n), Number(paused) + 1);
    });

    await check("no console errors while training", async () => {
      assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(" | ")}`);
    });

    await check("an uploaded bad CSV shows its line and column", async () => {
      const csv = "x1,x2,label\n0.5,1.0,0\n0.25,oops,1\n";
      await page.setInputFiles('[data-testid="upload"]', { name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      const error = page.locator('[data-testid="error"]');
      await error.waitFor({ state: "visible" });
      const message = await error.innerText();
      // Line 3, column (field) 2: `oops`, as `micrograd train --data` says it.
      assert(message.includes("bad.csv:3:2:") && message.includes("oops"), `the error: ${message}`);
      await page.screenshot({ path: join(shots, "05-bad-upload.png") });
      // The one console error is the browser's note of the 422 answer.
      const unexpected = consoleErrors.filter((e) => !e.includes("422"));
      assert(unexpected.length === 0, `console errors: ${unexpected.join(" | ")}`);
    });

    await check("a good upload trains", async () => {
      const rows = ["a,b,label"];
      for (let i = 0; i < 40; i++) rows.push(`${(i % 8) / 4 - 1},${Math.floor(i / 8) / 2 - 1},${i % 8 < 4 ? 0 : 1}`);
      await page.setInputFiles('[data-testid="upload"]', { name: "halves.csv", mimeType: "text/csv", buffer: Buffer.from(rows.join("\n")) });
      await page.waitForFunction(() => document.querySelector("#data-summary").textContent.startsWith("halves.csv: 40 points"));
      assert(await page.locator('[data-testid="error"]').isHidden(), "the error is still shown");
      await page.click('[data-testid="play"]');
      await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="accuracy"]').textContent) === 100, null, { timeout: 30_000 });
      await page.click('[data-testid="pause"]');
    });

    if (secondsTo90 !== null) writeFileSync(join(shots, "spiral-seconds-to-90.txt"), `${secondsTo90}\n`);
  } finally {
    await context.close();
    server.kill("SIGTERM");
    rmSync(profile, { recursive: true, force: true });
  }
  const failed = results.filter(([, ok]) => !ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
