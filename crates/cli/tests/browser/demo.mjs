// Clicks through the demo merchant (`bankid-oidc demo` at DEMO_URL) in headless Chromium
// (Debian's, through playwright-core): each redirect flow once, then the iframe flow. The Rust
// test (tests/demo_browser.rs) started the provider and the demo and set the app's scripted
// answers; USERS holds the test users' NNIN, one-time code and password. Prints, as the last line
// of stdout, JSON with what each result page showed, the iframe flow's events as the demo page
// listed them, and every console error (CSP violations included) of every page and frame.
// Screenshots (desktop 1280x800 and phone 390x844) go to SHOTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const { DEMO_URL, PROVIDER_URL, SHOTS } = process.env;
const USERS = JSON.parse(process.env.USERS);
const ONLY = process.env.ONLY ? process.env.ONLY.split(",") : null;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const consoleErrors = [];
const failedResponses = [];
const overflows = [];

// A fresh context per flow: no provider session from the flow before.
async function newPage(name) {
  const context = await browser.newContext({ viewport: DESKTOP, locale: "en-GB" });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push({ flow: name, url: page.url(), text: m.text() });
  });
  page.on("pageerror", (e) => consoleErrors.push({ flow: name, url: page.url(), text: String(e) }));
  // Which resource a "Failed to load resource" error was about.
  page.on("response", (r) => {
    if (r.status() >= 400) failedResponses.push({ flow: name, url: r.url(), status: r.status() });
  });
  return page;
}

async function screenshot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}-desktop.png`, fullPage: true });
  await page.setViewportSize(PHONE);
  // Nothing may be wider than the phone's screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > PHONE.width) overflows.push({ page: name, width });
  await page.screenshot({ path: `${SHOTS}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize(DESKTOP);
}

const text = async (page, selector) => {
  const found = page.locator(selector);
  return (await found.count()) > 0 ? (await found.first().textContent()).trim() : null;
};

// What every result page shows: the flow, the validated claims, the checks, the grant.
async function readResult(page) {
  await page.waitForURL(`${DEMO_URL}/result`, { timeout: 30000 });
  return {
    flow: await page.locator("#result-flow").getAttribute("data-flow"),
    sub: await text(page, "#claim-sub"),
    iss: await text(page, "#claim-iss"),
    acr: await text(page, "#claim-acr"),
    subNnin: await text(page, "#claim-sub_nnin"),
    claims: JSON.parse(await text(page, "#claims")),
    checks: await page.locator("#checks li").evaluateAll((items) => items.map((i) => i.id)),
    grant: (await text(page, "#grant")) ? JSON.parse(await text(page, "#grant")) : null,
    userinfo: (await text(page, "#userinfo")) ? JSON.parse(await text(page, "#userinfo")) : null,
  };
}

async function start(page, flow) {
  await page.goto(`${DEMO_URL}/?lang=en`);
  await page.locator(`#start-${flow}`).click();
}

// The provider's login page as a phone shows it: a screenshot at both widths, and at the
// phone's width the card's margin from the screen's edge and how Cancel is drawn (apart from
// the login methods, as a plain link at the end of the row).
async function providerPage(page, name) {
  await page.locator("main").waitFor();
  await screenshot(page, `provider-${name}`);
  await page.setViewportSize(PHONE);
  result.providerPages[name] = await page.evaluate(() => {
    const main = document.querySelector("main").getBoundingClientRect();
    const cancel = document.querySelector('button[value="cancel"]');
    const style = cancel && getComputedStyle(cancel);
    const row = cancel && cancel.parentElement.getBoundingClientRect();
    return {
      title: document.querySelector("h1").textContent.trim(),
      marginLeft: main.left,
      marginRight: window.innerWidth - main.right,
      hasCancel: !!cancel,
      cancelUnderlined: !!style && style.textDecorationLine.includes("underline"),
      cancelAtRowEnd: !!cancel && Math.abs(row.right - cancel.getBoundingClientRect().right) < 1,
    };
  });
  await page.setViewportSize(DESKTOP);
}

async function bid(page, user, shots = false) {
  if (shots) await providerPage(page, "bid-nnin");
  await page.locator('input[name="nnin"]').fill(user.nnin);
  await page.locator('button[name="method"][value="BID"]').click();
  await page.locator('input[name="otp"]').fill(user.otp);
  await page.locator('button[name="action"][value="continue"]').click();
  await page.locator('input[name="password"]').fill(user.password);
  await page.locator('button[name="action"][value="continue"]').click();
}

// BankID with biometrics by redirect: the NNIN if asked, then the page waits (meta refresh)
// for the scripted app.
async function bis(page, user) {
  const nnin = page.locator('input[name="nnin"]');
  await nnin.waitFor({ timeout: 10000 });
  await nnin.fill(user.nnin);
  await page.locator('button[name="method"][value="BIS"]').click();
}

async function bim(page, user) {
  await providerPage(page, "bim-mobile");
  await page.locator('input[name="phone"]').fill(user.phone);
  await page.locator('input[name="birthdate"]').fill(user.birthdate);
  await page.locator('button[name="action"][value="continue"]').click();
  await page.locator('button[name="decision"][value="allow"]').waitFor();
  await providerPage(page, "bim-approve");
  await page.locator('button[name="decision"][value="allow"]').click();
}

// Post/redirect/get on the provider's pages: a refused NNIN comes back in its field on a page
// reached by GET, and a reload, the Back button or Forward afterwards loads pages by GET only (a
// page that answered a POST would post the form again).
async function bidWithRefusal(page, user) {
  const navigations = [];
  page.on("request", (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigations.push(r.method());
  });
  const field = (name) => page.locator(`input[name="${name}"]`);
  await field("nnin").fill("15076500566");
  await page.locator('button[name="method"][value="BID"]').click();
  await page.locator("#error").waitFor();
  const prg = {
    refused: { url: page.url(), value: await field("nnin").inputValue(), error: await text(page, "#error") },
  };
  await providerPage(page, "bid-refused-nnin");
  navigations.length = 0;
  await page.reload();
  await field("nnin").waitFor();
  prg.reloaded = { navigations: navigations.slice(), error: await text(page, "#error"), value: await field("nnin").inputValue() };
  await field("nnin").fill(user.nnin);
  navigations.length = 0;
  await page.locator('button[name="method"][value="BID"]').click();
  await field("otp").waitFor();
  prg.nninPosted = { navigations: navigations.slice(), url: page.url() };
  navigations.length = 0;
  await page.reload();
  await field("otp").waitFor();
  prg.otpReloaded = navigations.slice();
  // Back: the address before carries the login as it was there (the NNIN step); Forward
  // comes back to the one-time code. Each a GET.
  navigations.length = 0;
  await page.goBack();
  await field("nnin").waitFor();
  prg.back = navigations.slice();
  navigations.length = 0;
  await page.goForward();
  await field("otp").waitFor();
  prg.forward = navigations.slice();
  await field("otp").fill(user.otp);
  await page.locator('button[name="action"][value="continue"]').click();
  await field("password").fill(user.password);
  await page.locator('button[name="action"][value="continue"]').click();
  return prg;
}

const REDIRECT_FLOWS = [
  ["bid", (p) => bid(p, USERS.kari, true)],
  ["bim", (p) => bim(p, USERS.kari)],
  ["bis-realm", (p) => bis(p, USERS.ola)],
  ["bis", (p) => bis(p, USERS.ola)],
  ["par", (p) => bid(p, USERS.kari)],
  ["signed", (p) => bid(p, USERS.kari)],
  ["encrypted", (p) => bid(p, USERS.kari)],
  ["payment", (p) => bis(p, USERS.ingrid)],
];

const result = { flows: {}, providerPages: {} };
let current = null;
try {
  for (const [flow, login] of REDIRECT_FLOWS) {
    if (ONLY && !ONLY.includes(flow)) continue;
    current = flow;
    const page = await newPage(flow);
    await start(page, flow);
    await login(page);
    result.flows[flow] = await readResult(page);
    await screenshot(page, `result-${flow}`);
    await page.context().close();
  }

  if (!ONLY || ONLY.includes("prg")) {
    current = "prg";
    const page = await newPage("prg");
    await start(page, "bid");
    result.prg = await bidWithRefusal(page, USERS.kari);
    result.prg.result = await readResult(page);
    await page.context().close();
  }

  // The provider's start page, and the request its form builds.
  if (!ONLY || ONLY.includes("start")) {
    current = "provider-start";
    const page = await newPage("provider-start");
    await page.goto(`${PROVIDER_URL}/`);
    await page.locator("#start-login").waitFor();
    await screenshot(page, "provider-start");
    await page.locator('#start-login button[type="submit"]').click();
    await page.locator("#authorization-url").waitFor();
    await screenshot(page, "provider-start-request");
    result.startPage = { url: await text(page, "#authorization-url") };
    await page.context().close();
  }

  if (!ONLY || ONLY.includes("iframe")) {
    current = "iframe";
    const page = await newPage("iframe");
    const events = () => page.evaluate(() => window.demoEvents.slice());
    // Polled from here: waitForFunction evaluates a string in the page, which the demo's CSP
    // (rightly) refuses.
    const waitEvent = async (event, timeout = 20000) => {
      const end = Date.now() + timeout;
      while (!(await events()).includes(event)) {
        if (Date.now() > end) throw new Error(`no ${event} in ${JSON.stringify(await events())}`);
        await page.waitForTimeout(25);
      }
    };
    await page.goto(`${DEMO_URL}/?lang=en`);
    result.iframe = { offeredNnin: await page.locator("#iframe-nnin").inputValue() };
    await screenshot(page, "iframe-1-start");
    await page.locator("#start-iframe").click();
    await page.waitForURL(`${DEMO_URL}/iframe`);
    // The frame's request for the demo's callback waits until the events are read: the
    // callback's page takes the whole window to the result page at once.
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    await page.route(
      (url) => url.origin === DEMO_URL && url.pathname === "/callback",
      async (route) => {
        await gate;
        await route.continue();
      },
    );
    await waitEvent("awaiting_user_identity_input");
    const frame = page.frameLocator("#bankid-frame");
    result.iframe.nnin = await frame.locator("#nnin").inputValue();
    await page.waitForTimeout(200);
    await screenshot(page, "iframe-2-identify");
    await frame.locator('button[name="method"][value="BIS"]').click();
    await waitEvent("authorization_pending");
    result.iframe.bindingMessage = (await frame.locator("#binding-message").textContent()).trim();
    await page.waitForTimeout(200);
    await screenshot(page, "iframe-3-waiting");
    // The frame's last event; then the demo's callback takes the whole window to /result.
    await waitEvent("redirecting_to_merchant", 30000);
    result.iframe.events = await events();
    result.iframe.listed = await page
      .locator("#events li")
      .evaluateAll((items) => items.map((i) => i.getAttribute("data-event")));
    await screenshot(page, "iframe-4-redirecting");
    release();
    result.iframe.result = await readResult(page);
    await screenshot(page, "iframe-5-result");
    await page.context().close();
  }
} catch (e) {
  result.failure = `${current}: ${e}`;
}
result.consoleErrors = consoleErrors;
result.failedResponses = failedResponses;
result.overflows = overflows;
await browser.close();
console.log(JSON.stringify(result));
