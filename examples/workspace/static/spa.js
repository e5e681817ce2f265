// The single-page app of the oktasso example: it signs in by itself as a
// public client (authorization code with PKCE S256 and state) at the
// authorization server named by #spa's data-issuer, and calls this
// application's API, GET /api/claims, with the access token. Plain
// JavaScript, no build step, no libraries. Tokens are kept in
// sessionStorage (this tab only); everything shown is set as text.
"use strict";
(() => {
	const root = document.getElementById("spa");
	if (!root) return;
	const cfg = root.dataset; // issuer, clientId, scopes, redirectUri
	const store = window.sessionStorage;
	const FLOW = "oktasso-spa-flow", TOKENS = "oktasso-spa-tokens", LOGOUT = "oktasso-spa-logout";
	const $ = id => document.getElementById(id);
	const say = text => { $("spa-status").textContent = text; };

	const b64url = bytes => btoa(String.fromCharCode(...new Uint8Array(bytes)))
		.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
	const challenge = async verifier =>
		b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
	const read = key => { try { return JSON.parse(store.getItem(key)); } catch { return null; } };

	// discovery reads the authorization server's metadata once; every
	// endpoint must be on the issuer's origin.
	let meta = null;
	async function discovery() {
		if (meta) return meta;
		const r = await fetch(cfg.issuer + "/.well-known/openid-configuration");
		if (!r.ok) throw new Error("the authorization server's discovery answered " + r.status);
		const m = await r.json();
		const origin = new URL(cfg.issuer).origin;
		if (m.issuer !== cfg.issuer) throw new Error("the discovery document names another issuer");
		for (const k of ["authorization_endpoint", "token_endpoint"]) {
			if (typeof m[k] !== "string" || new URL(m[k]).origin !== origin) throw new Error(k + " is not on the issuer's origin");
		}
		if (m.end_session_endpoint && new URL(m.end_session_endpoint).origin !== origin) delete m.end_session_endpoint;
		meta = m;
		return m;
	}

	async function signIn() {
		const m = await discovery();
		const verifier = random(), state = random();
		store.setItem(FLOW, JSON.stringify({ verifier, state }));
		const u = new URL(m.authorization_endpoint);
		u.search = new URLSearchParams({
			client_id: cfg.clientId, response_type: "code", scope: cfg.scopes,
			redirect_uri: cfg.redirectUri, state,
			code_challenge: await challenge(verifier), code_challenge_method: "S256",
		}).toString();
		location.assign(u.toString());
	}

	// finishSignIn redeems the authorization response in params.
	async function finishSignIn(params) {
		const flow = read(FLOW);
		store.removeItem(FLOW);
		if (params.has("error")) {
			throw new Error("the sign-in was refused: " + params.get("error") +
				(params.get("error_description") ? " (" + params.get("error_description") + ")" : ""));
		}
		if (!flow || !flow.state || params.get("state") !== flow.state) {
			throw new Error("this sign-in response does not match a sign-in started in this tab; sign in again");
		}
		const m = await discovery();
		const r = await fetch(m.token_endpoint, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
			body: new URLSearchParams({
				grant_type: "authorization_code", client_id: cfg.clientId, code: params.get("code") || "",
				redirect_uri: cfg.redirectUri, code_verifier: flow.verifier,
			}),
		});
		const body = await r.json().catch(() => ({}));
		if (!r.ok || typeof body.access_token !== "string") {
			throw new Error("the token request failed: " + (body.error || r.status));
		}
		store.setItem(TOKENS, JSON.stringify({
			access: body.access_token, id: body.id_token || "",
			expires: Date.now() + 1000 * (Number(body.expires_in) || 3600),
		}));
	}

	function tokens() {
		const t = read(TOKENS);
		if (t && typeof t.access === "string" && t.expires > Date.now()) return t;
		store.removeItem(TOKENS);
		return null;
	}

	async function callAPI(withToken) {
		const t = tokens();
		const headers = { Accept: "application/json" };
		if (withToken && t) headers.Authorization = "Bearer " + t.access;
		const r = await fetch("/api/claims", { headers });
		const challengeHeader = r.headers.get("WWW-Authenticate");
		let text = await r.text();
		try { text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* shown as sent */ }
		$("api-status").textContent = r.status + (r.ok ? " OK" : "") +
			(challengeHeader ? " · WWW-Authenticate: " + challengeHeader : "");
		$("api-body").textContent = text;
		$("api-result").hidden = false;
	}

	async function signOut() {
		const t = tokens();
		store.removeItem(TOKENS);
		let m = null;
		try { m = await discovery(); } catch { /* signed out here all the same */ }
		if (t && t.id && m && m.end_session_endpoint) {
			// End the session at the authorization server too, and come back.
			const state = random();
			store.setItem(LOGOUT, state);
			const u = new URL(m.end_session_endpoint);
			u.search = new URLSearchParams({ id_token_hint: t.id, post_logout_redirect_uri: cfg.redirectUri, state }).toString();
			location.assign(u.toString());
			return;
		}
		show("You are signed out.");
	}

	function show(message) {
		const signedIn = tokens() !== null;
		say(message || (signedIn ? "Signed in: this tab holds an access token." : "Not signed in."));
		$("spa-signin").hidden = signedIn;
		$("spa-call").hidden = !signedIn;
		$("spa-call-anon").hidden = false;
		$("spa-signout").hidden = !signedIn;
		if (!signedIn) $("api-result").hidden = true;
	}

	const fail = err => { show(); say("Error: " + err.message); };
	$("spa-signin").addEventListener("click", () => signIn().catch(fail));
	$("spa-call").addEventListener("click", () => callAPI(true).catch(fail));
	$("spa-call-anon").addEventListener("click", () => callAPI(false).catch(fail));
	$("spa-signout").addEventListener("click", () => signOut().catch(fail));

	(async () => {
		const params = new URLSearchParams(location.search);
		if (params.has("code") || params.has("error")) {
			// The authorization response: take the code out of the address bar first.
			history.replaceState(null, "", cfg.redirectUri);
			await finishSignIn(params);
			show();
			return;
		}
		const loggedOut = store.getItem(LOGOUT);
		if (params.has("state")) {
			history.replaceState(null, "", cfg.redirectUri);
			store.removeItem(LOGOUT);
			if (loggedOut && params.get("state") === loggedOut) {
				show("You are signed out.");
				return;
			}
		}
		show();
	})().catch(fail);
})();
