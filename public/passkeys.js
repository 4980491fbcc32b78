// Passkeys in the browser: WebAuthn's JSON forms in and out (binary as base64url), so the
// WebAssembly and the server only ever handle text. The security page and "Confirm it's
// you" call `gatehousePasskey.add/confirm` from Rust (whole ceremonies, server calls
// included, so the WebAssembly stays small); the sign-in page's button and autofill
// are wired here, with no WebAssembly involved. Loaded as a module from our own origin,
// so the page's Content-Security-Policy stays as strict as it was.

const b64 = {
  decode(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  },
  encode(buffer) {
    let s = "";
    for (const byte of new Uint8Array(buffer)) s += String.fromCharCode(byte);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

const PKC = window.PublicKeyCredential;
const supported = !!(PKC && navigator.credentials);

// Browsers without parse…FromJSON / toJSON get the few binary members converted by hand.
function creationOptions(o) {
  if (PKC.parseCreationOptionsFromJSON) return PKC.parseCreationOptionsFromJSON(o);
  const ids = (list) => (list || []).map((c) => ({ ...c, id: b64.decode(c.id) }));
  return { ...o, challenge: b64.decode(o.challenge), user: { ...o.user, id: b64.decode(o.user.id) }, excludeCredentials: ids(o.excludeCredentials) };
}

function requestOptions(o) {
  if (PKC.parseRequestOptionsFromJSON) return PKC.parseRequestOptionsFromJSON(o);
  const ids = (list) => (list || []).map((c) => ({ ...c, id: b64.decode(c.id) }));
  return { ...o, challenge: b64.decode(o.challenge), allowCredentials: ids(o.allowCredentials) };
}

function toJSON(cred) {
  if (cred.toJSON) return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: b64.encode(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = b64.encode(r.attestationObject);
  if (r.authenticatorData) response.authenticatorData = b64.encode(r.authenticatorData);
  if (r.signature) response.signature = b64.encode(r.signature);
  if (r.userHandle) response.userHandle = b64.encode(r.userHandle);
  return { id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type, response, clientExtensionResults: cred.getClientExtensionResults() };
}

/** A new passkey for creation options (JSON text); answers the credential as JSON text. */
async function create(optionsText) {
  const cred = await navigator.credentials.create({ publicKey: creationOptions(JSON.parse(optionsText)) });
  return JSON.stringify(toJSON(cred));
}

let conditional = null; // the autofill request's AbortController, while one waits

/** An assertion for request options (JSON text); answers the credential as JSON text. A
 * modal request first ends a waiting autofill one (a browser takes one at a time). */
async function get(optionsText, mediation, signal) {
  if (mediation !== "conditional" && conditional) {
    conditional.abort();
    conditional = null;
  }
  const request = { publicKey: requestOptions(JSON.parse(optionsText)) };
  if (mediation) request.mediation = mediation;
  if (signal) request.signal = signal;
  const cred = await navigator.credentials.get(request);
  return JSON.stringify(toJSON(cred));
}



// A server function, called the way the page's own calls are: form-encoded in, JSON out.
// A refusal throws the server's error (the AppError, as JSON text).
async function call(name, fields) {
  const answer = await fetch(`/fn/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(fields || {}),
    credentials: "same-origin",
  });
  const text = await answer.text();
  if (!answer.ok) throw text;
  return JSON.parse(text);
}

// For the WebAssembly: whole ceremonies, which resolve with text or reject with an AppError
// as JSON text (a browser refusal — cancelled, timed out — becomes a `BadRequest`).
const NOT_DONE = "The passkey request was cancelled or timed out. Try again.";
async function ceremony(run) {
  try {
    return await run();
  } catch (e) {
    throw typeof e === "string" ? e : JSON.stringify({ BadRequest: NOT_DONE });
  }
}

/** "Add a passkey" (the server may ask to confirm first): resolves with its name. */
function add(name) {
  return ceremony(async () => {
    const { ceremony, public_key } = await call("passkey-add-options");
    const credential = await create(public_key);
    return (await call("passkey-add", { ceremony, credential, name })).name;
  });
}

/** "Remove" (the server may ask to confirm first). */
function remove(id) {
  return ceremony(async () => {
    await call("passkey-remove", { id });
    return "";
  });
}

/** "Confirm it's you" with a passkey. */
function confirm() {
  return ceremony(async () => {
    const { ceremony, public_key } = await call("passkey-options");
    const credential = await get(public_key);
    await call("reauthenticate-passkey", { ceremony, credential });
    return "";
  });
}

// The sign-in page: "Sign in with a passkey", and passkeys offered in the email field's
// autofill (conditional mediation) where the browser can.
function say(text) {
  const status = document.querySelector("[data-passkey-status]");
  if (status) status.textContent = text;
}

async function signIn(mediation, signal) {
  const { ceremony, public_key } = await call("passkey-options");
  if (signal && signal.aborted) return;
  const credential = await get(public_key, mediation, signal);
  say("Signing in…");
  const query = new URLSearchParams(location.search);
  const fields = { ceremony, credential };
  for (const name of ["next", "rd"]) if (query.get(name)) fields[name] = query.get(name);
  let to;
  try {
    to = await call("passkey-sign-in", fields);
  } catch {
    say("That passkey was not accepted. Try again, or use your password.");
    return;
  }
  location.assign(to);
}

function failed(e) {
  if (e && e.name === "AbortError") return;
  say(e && e.name === "NotAllowedError"
    ? "Signing in with a passkey was cancelled or timed out."
    : "Signing in with a passkey did not work. Try again, or use your password.");
}

/** Passkeys in the email field's autofill: the request starts when the field is first
 * focused (where autofill shows), once at a time. */
function autofill() {
  if (conditional || !PKC.isConditionalMediationAvailable) return;
  const mine = new AbortController();
  conditional = mine;
  PKC.isConditionalMediationAvailable()
    .then((yes) => yes && !mine.signal.aborted && signIn("conditional", mine.signal))
    .catch(failed)
    .finally(() => { if (conditional === mine) conditional = null; });
}

/** The sign-in page, with JavaScript: no "needs JavaScript" note; and where the browser can
 * use passkeys, the button and autofill. */
function offer(tries = 20) {
  const note = document.querySelector("[data-passkey-needs-js]");
  const box = document.querySelector("[data-passkey-box]");
  // After the app navigated here, the page may be a moment from being in the document.
  if (!box) return void (tries > 0 && setTimeout(() => offer(tries - 1), 50));
  if (note) note.hidden = true;
  if (!supported) return;
  box.hidden = false;
  const field = document.querySelector("input[autocomplete~=webauthn]");
  if (field && !field.dataset.passkeyAutofill) {
    field.dataset.passkeyAutofill = "on";
    field.addEventListener("focus", autofill);
    if (document.activeElement === field) autofill();
  }
}

// One entry for the WebAssembly (one import, one way of waiting): `run("add", name)`,
// `run("remove", id)`, `run("confirm")`.
const ceremonies = { add, remove, confirm };
window.gatehousePasskey = { isSupported: () => supported, run: (what, arg) => ceremonies[what](arg), offer: () => offer() };
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => offer(0));
else offer(0);
if (supported) {
  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element) || !event.target.closest("[data-passkey-sign-in]")) return;
    event.preventDefault();
    say("");
    signIn().catch(failed);
  });
}
