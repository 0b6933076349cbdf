// A full netcentric BankID login in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against `bankid-oidc serve --tls`, with the generated CA trusted the way a
// developer trusts it: imported into the NSS database of a fresh HOME (certutil, libnss3-tools).
// No certificate error is ignored: without the CA in that database the first page fails.
//
// Input (environment): AUTHORIZE_URL (the login to start), REDIRECT_URI (where it returns: the
// request is seen as Chromium makes it, nothing need listen there), NNIN, OTP, PASSWORD; CA_FILE
// to trust, or unset to show that the browser refuses the certificate; CHROMIUM (default
// /usr/bin/chromium).
// Output: one JSON line, {"callback": url, "cookies": [...]} or {"refused": message}.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const home = mkdtempSync(join(tmpdir(), 'bankid-oidc-chromium-'));
let browser;
try {
  if (process.env.CA_FILE) {
    const nssdb = `sql:${join(home, '.pki', 'nssdb')}`;
    mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
    execFileSync('certutil', ['-d', nssdb, '-N', '--empty-password']);
    // C,, : a CA trusted to issue server certificates.
    execFileSync('certutil', ['-d', nssdb, '-A', '-t', 'C,,', '-n', 'bankid-oidc local CA', '-i', process.env.CA_FILE]);
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    env: { ...process.env, HOME: home },
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  const redirectUri = env('REDIRECT_URI');
  let refused;
  try {
    await page.goto(env('AUTHORIZE_URL'));
  } catch (e) {
    refused = String(e.message).split('\n')[0];
  }
  if (refused) {
    console.log(JSON.stringify({ refused }));
  } else {
    if (new URL(page.url()).protocol !== 'https:') throw new Error(`not over https: ${page.url()}`);
    await page.fill('#nnin', env('NNIN'));
    await page.click('button[name="method"][value="BID"]');
    await page.fill('#otp', env('OTP'));
    await page.click('button[name="action"][value="continue"]');
    await page.fill('#password', env('PASSWORD'));
    // The provider redirects to the merchant; the request is seen as Chromium makes it (nothing
    // need listen there: Playwright does not route a request that a redirect made).
    const [callbackRequest] = await Promise.all([
      page.waitForRequest((request) => request.url().startsWith(redirectUri)),
      page.click('button[name="action"][value="continue"]', { noWaitAfter: true }),
    ]);
    const cookies = (await context.cookies()).map(({ name, secure, httpOnly, sameSite }) => ({ name, secure, httpOnly, sameSite }));
    console.log(JSON.stringify({ callback: callbackRequest.url(), cookies }));
  }
} finally {
  await browser?.close();
  rmSync(home, { recursive: true, force: true });
}
