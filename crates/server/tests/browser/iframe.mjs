// Drives the iframe flow in headless Chromium (Debian's, through playwright-core): the merchant
// page at MERCHANT_URL frames authorize_uri; this clicks through the frame and prints, as the last
// line of stdout, JSON with the analytics events the merchant received, where the frame ended,
// and every console error. SCENARIO: approve | deny | timeout (the app's scripted answer is set by
// the Rust test) | blocked (the parent is not frame_ancestor) | referrer | replay.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const { MERCHANT_URL, SCENARIO, SHOTS } = process.env;
const CALLBACK = process.env.CALLBACK_PREFIX;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));

let shot = 0;
async function screenshot(name) {
  shot += 1;
  const base = `${SHOTS}/${SCENARIO}-${shot}-${name}`;
  await page.screenshot({ path: `${base}-desktop.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${base}-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

const events = () => page.evaluate(() => window.events.slice());
const waitEvent = (event, timeout = 15000) =>
  page.waitForFunction((e) => window.events.includes(e), event, { timeout });

const result = { scenario: SCENARIO };
try {
  await page.goto(MERCHANT_URL);
  if (SCENARIO === "blocked") {
    await page.waitForTimeout(2500);
    await screenshot("blocked");
    const frame = page.frames().find((f) => f !== page.mainFrame());
    result.frameUrl = frame ? frame.url() : null;
    result.frameHasForm = frame ? (await frame.$("#flow-form")) !== null : false;
  } else if (SCENARIO === "referrer" || SCENARIO === "replay") {
    await waitEvent("initialization_errored");
    await page.waitForTimeout(300);
    await screenshot("errored");
    const frame = page.frameLocator("iframe");
    result.errorShown = SCENARIO === "referrer"
      ? await frame.locator("#referrer-error").isVisible()
      : await frame.locator("#error").isVisible();
  } else {
    await waitEvent("awaiting_user_identity_input");
    const frame = page.frameLocator("iframe");
    result.nnin = await frame.locator("#nnin").inputValue();
    await screenshot("identify");
    await frame.locator('button[name="method"][value="BIS"]').click();
    await waitEvent("authorization_pending");
    result.bindingMessage = await frame.locator("#binding-message").textContent();
    await screenshot("waiting");
    await waitEvent("redirecting_to_merchant", 30000);
    const child = page.frames().find((f) => f !== page.mainFrame());
    await page.waitForFunction(
      (prefix) => {
        try {
          return document.querySelector("iframe").contentWindow.location.href.startsWith(prefix);
        } catch (_) {
          return false;
        }
      },
      CALLBACK,
      { timeout: 10000 },
    );
    result.frameUrl = child.url();
    await screenshot("callback");
  }
  result.events = await events();
} catch (e) {
  result.failure = String(e);
  try {
    result.events = await events();
    await screenshot("failure");
  } catch (_) {}
}
result.consoleErrors = consoleErrors;
await browser.close();
console.log(JSON.stringify(result));
