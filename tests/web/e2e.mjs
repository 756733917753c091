// The web dashboard in a real headless Chromium (Debian's, driven by playwright-core), run by
// tests/web.rs with a JSON plan: sign in through the one-time link, visit every page at a
// desktop and a phone size, compare the totals shown with `tf report --json`, watch for
// console errors and for any request that leaves 127.0.0.1, send a heartbeat and wait for the
// open page to show it without a reload. Screenshots go where the plan says.
//
//   node tests/web/e2e.mjs PLAN.json        (prints a JSON summary; exit 1 on a failure)

import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const failures = [];
const fail = (what) => failures.push(what);
const origin = new URL(plan.base).origin;

const browser = await chromium.launch({
  executablePath: plan.chromium || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
  ],
});
const summary = { pages: 0, screenshots: [], requests: 0, paint: {} };

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Every request is looked at (not intercepted: interception would hold up the event
  // stream); one for another host is a failure — and cannot get anywhere, by the resolver
  // rule the browser was started with.
  context.on("request", (request) => {
    const url = new URL(request.url());
    summary.requests += 1;
    if (url.protocol !== "data:" && url.hostname !== "127.0.0.1") fail(`request left 127.0.0.1: ${url.href}`);
  });
  const page = await context.newPage();
  page.on("console", (m) => {
    // A page the plan expects to answer an error status logs that status; nothing else may.
    const expected = plan.pages.some((p) => p.status && page.url().endsWith(p.path));
    if (m.type() === "error" && !expected) fail(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => fail(`page error on ${page.url()}: ${e.message}`));

  // Not signed in: every page sends the browser to the sign-in page.
  await page.goto(plan.base + "/");
  if (!page.url().includes("/sign-in")) fail(`without a session / ended at ${page.url()}`);

  // The one-time link signs in and lands on the overview.
  await page.goto(plan.login);
  await page.waitForURL((u) => u.pathname === "/", { timeout: 10000 });
  if ((await page.locator("h1").first().textContent()) !== "Overview")
    fail("the link did not land on the overview");
  const paint = await page.evaluate(() =>
    Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, p.startTime])),
  );
  summary.paint = paint;

  // The same link again: used up.
  const replay = await fetch(plan.login, { redirect: "manual" });
  if (replay.status !== 401) fail(`a replayed link answered ${replay.status}`);

  if (plan.paint_only) {
    // The bench: first paint of the overview, loaded afresh, a few times.
    const runs = [];
    for (let i = 0; i < (plan.paint_runs || 10); i++) {
      await page.goto(plan.base + plan.paint_path, { waitUntil: "load" });
      runs.push(
        await page.evaluate(
          () => performance.getEntriesByType("paint").find((p) => p.name === "first-contentful-paint")?.startTime,
        ),
      );
    }
    summary.paint_runs = runs;
  } else {
    mkdirSync(plan.screenshots, { recursive: true });
    for (const size of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(size);
      for (const p of plan.pages) {
        const response = await page.goto(plan.base + p.path, { waitUntil: "load" });
        summary.pages += 1;
        if (response.status() !== (p.status || 200)) fail(`${p.path}: HTTP ${response.status()}`);
        const h1 = await page.locator("h1").first().textContent();
        if (p.h1 && h1 !== p.h1) fail(`${p.path}: h1 is ${JSON.stringify(h1)}, expected ${JSON.stringify(p.h1)}`);
        if (p.total) {
          const dd = page.locator("dl.totals dd[data-seconds]").first();
          const seconds = Number(await dd.getAttribute("data-seconds"));
          const text = (await dd.textContent()).trim();
          if (seconds !== p.total.seconds || text !== p.total.text)
            fail(`${p.path} at ${size.width}: total ${text} (${seconds} s), tf report says ${p.total.text} (${p.total.seconds} s)`);
        }
        // Nothing wider than the screen but the charts, which scroll in their own box.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 1) fail(`${p.path} at ${size.width}px is ${overflow}px wider than the screen`);
        // Injected markup never became an element.
        const injected = await page.locator("img[src=x], script:not([src])").count();
        if (injected > 0) fail(`${p.path}: ${injected} injected element(s)`);
        const file = join(plan.screenshots, `${p.name}-${size.width}x${size.height}.png`);
        await page.screenshot({ path: file, fullPage: true });
        summary.screenshots.push(file);
      }
    }

    // Dark, as prefers-color-scheme asks.
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(plan.base + plan.pages[0].path);
    await page.screenshot({ path: join(plan.screenshots, `dark-${plan.pages[0].name}-390x844.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });

    // Keyboard: the first Tab reaches the skip link, and Enter on it moves to the content.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(plan.base + plan.live.path);
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement?.textContent);
    if (first !== "Skip to the content") fail(`the first Tab stop is ${JSON.stringify(first)}`);
    await page.keyboard.press("Enter");
    if ((await page.evaluate(() => document.activeElement?.id)) !== "main")
      fail("the skip link did not move the focus to the content");
    // Then through the page: every stop is a link, a button or a field, and chart links are reached.
    let reachedChart = false;
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      const tag = await page.evaluate(() => {
        const a = document.activeElement;
        if (a?.closest("svg")) return "svg-a";
        return a?.tagName;
      });
      if (tag === "svg-a") reachedChart = true;
      if (tag === "BODY") break; // past the last stop
      if (!["A", "BUTTON", "INPUT", "svg-a"].includes(tag)) fail(`Tab stop ${i} is a ${tag}`);
    }
    if (!reachedChart) fail("no chart bar was reachable with Tab");

    // Live: the open page shows a new heartbeat without a reload (no polling: an event).
    await page.goto(plan.base + plan.live.path);
    // Listening (the event stream is open) before the heartbeat is sent.
    await page.waitForFunction(() => document.documentElement.dataset.live === "open", null, { timeout: 10000 });
    await page.evaluate(() => (window.__stayed = true));
    const before = await page.locator("dl.totals dd[data-seconds]").first().textContent();
    const sent = await fetch(plan.live.heartbeats_url, {
      method: "POST",
      headers: {
        Authorization: "Basic " + Buffer.from(plan.live.api_key).toString("base64"),
        "Content-Type": "application/json",
      },
      body: JSON.stringify(plan.live.heartbeats),
    });
    const answer = await sent.text();
    if (sent.status !== 201 || answer.includes('"error"')) fail(`sending the live heartbeat: HTTP ${sent.status} ${answer}`);
    const t0 = Date.now();
    try {
      await page.waitForFunction(
        (want) => document.querySelector("dl.totals dd[data-seconds]")?.getAttribute("data-seconds") === String(want),
        plan.live.total_after.seconds,
        { timeout: 10000, polling: 50 },
      );
      summary.live_ms = Date.now() - t0;
    } catch (e) {
      const now = await page.locator("dl.totals dd[data-seconds]").first().getAttribute("data-seconds");
      fail(`the live page still shows ${before} (${now} s) after 10 s (expected ${plan.live.total_after.text}, ${plan.live.total_after.seconds} s)`);
    }
    if (!(await page.evaluate(() => window.__stayed === true))) fail("the page reloaded instead of updating");
    await page.screenshot({ path: join(plan.screenshots, "live-1280x800.png"), fullPage: true });

    // Signing out ends the session: the overview goes back to the sign-in page.
    await page.locator("form.signout button").click();
    await page.waitForURL((u) => u.pathname === "/sign-in");
    await page.goto(plan.base + "/");
    if (!page.url().includes("/sign-in")) fail("still signed in after signing out");
  }
  await context.close();
} catch (e) {
  fail(`exception: ${e.stack || e}`);
} finally {
  await browser.close();
}

summary.failures = failures;
console.log(JSON.stringify(summary));
process.exit(failures.length ? 1 : 0);
