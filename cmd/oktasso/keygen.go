package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"
)

// The variables of private_key_jwt client authentication that
// ConfigFromEnv reads (directory sync, oktasso sync, reads the key and its
// id too); keygen --jwk prints them.
const (
	envClientAuthMethod = "OKTA_CLIENT_AUTH_METHOD"
	envPrivateKey       = "OKTA_PRIVATE_KEY"
	envPrivateKeyID     = "OKTA_PRIVATE_KEY_ID"
)

const defaultKeyFile = "oktasso-private-key.pem"

type keygenOptions struct {
	jwk bool
	alg string
	out string
}

func keygenFlags(o *keygenOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.BoolVar(&o.jwk, "jwk", false, "make a key pair for private_key_jwt instead of a session key")
	fs.StringVar(&o.alg, "alg", "RS256", "with --jwk: RS256 (RSA 2048) or ES256 (P-256)")
	fs.StringVar(&o.out, "out", defaultKeyFile, "with --jwk: `FILE` for the private key (PKCS#8 PEM, mode 0600; never overwritten)")
	return fs
}

func keygenCommand() *command {
	return &command{
		name:    "keygen",
		summary: "make a session key, or a key pair for private_key_jwt (--jwk)",
		usage:   "oktasso keygen [--jwk [--alg RS256|ES256] [--out FILE]]",
		about: `
Keygen prints a new random 32-byte session key, base64, on its first line,
then how to set it in OKTASSO_SESSION_KEYS and how to rotate keys.

With --jwk it makes a key pair for private_key_jwt client authentication: it
writes the private key to FILE (PKCS#8 PEM, mode 0600; an existing file is
never overwritten) and prints the public key as a JWK (kid = its RFC 7638
thumbprint) to paste into Okta: the app → General → Client Credentials →
Public key / Private key → Add key. It also prints the lines to paste into
the app's environment: OKTA_CLIENT_AUTH_METHOD=private_key_jwt (the library
reads the key only with it), OKTA_PRIVATE_KEY and OKTA_PRIVATE_KEY_ID (which
directory sync reads too).`,
		vars: "none; it prints " + "OKTASSO_SESSION_KEYS" + ", or " + envClientAuthMethod + ", " + envPrivateKey + " and " + envPrivateKeyID + " with --jwk",
		example: `
oktasso keygen
oktasso keygen | head -1 > session.key
oktasso keygen --jwk --out /etc/myapp/okta-key.pem
oktasso keygen --jwk --alg ES256`,
		flags: func() *flag.FlagSet { return keygenFlags(&keygenOptions{}) },
		run:   (*app).runKeygen,
	}
}

func (a *app) runKeygen(_ context.Context, args []string) int {
	var o keygenOptions
	c := keygenCommand()
	fs := keygenFlags(&o)
	if code, done := a.parseFlags(c, fs, args); done {
		return code
	}
	if !o.jwk {
		set := ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "alg" || f.Name == "out" {
				set = f.Name
			}
		})
		if set != "" {
			fmt.Fprintf(a.stderr, "oktasso keygen: --%s needs --jwk — fix: add --jwk for a key pair, or drop --%s for a session key\n", set, set)
			return exitUsage
		}
		return a.sessionKey()
	}
	if o.alg != "RS256" && o.alg != "ES256" {
		fmt.Fprintf(a.stderr, "oktasso keygen: --alg %q is not supported — fix: use --alg RS256 or --alg ES256\n", o.alg)
		return exitUsage
	}
	return a.keyPair(o)
}

func (a *app) sessionKey() int {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	k := base64.StdEncoding.EncodeToString(b)
	fmt.Fprintln(a.stdout, k)
	fmt.Fprintf(a.stdout, `
Set it as the session key (keep it secret, share it between instances of the app):
  %[1]s=%[2]s
To rotate, put the new key first and keep the current ones until the sessions
they protect expire (%[3]s, 24h by default), then drop them:
  %[1]s=%[2]s,<current keys>
`, "OKTASSO_SESSION_KEYS", k, "OKTASSO_SESSION_MAX_AGE")
	return exitOK
}

func (a *app) keyPair(o keygenOptions) int {
	failf := func(format string, args ...any) int {
		fmt.Fprintf(a.stderr, "oktasso keygen: "+format+"\n", args...)
		return exitFail
	}
	var priv crypto.Signer
	var err error
	if o.alg == "ES256" {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return failf("generating the key: %s — fix: run it again; if it persists, report it", errText(err))
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return failf("encoding the key: %s — fix: run it again; if it persists, report it", errText(err))
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: o.alg, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return failf("thumbprint: %s — fix: run it again; if it persists, report it", errText(err))
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pub, err := json.MarshalIndent(jwk, "", "  ")
	if err != nil {
		return failf("encoding the JWK: %s — fix: run it again; if it persists, report it", errText(err))
	}

	path, err := filepath.Abs(o.out)
	if err != nil {
		return failf("--out %s: %s — fix: pass --out with a valid path", o.out, errText(err))
	}
	if err := writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return failf("%s exists; a private key is never overwritten — fix: pass another --out, or move the file away", path)
		}
		return failf("writing the private key: %s — fix: pass --out with a writable path", errText(err))
	}

	fmt.Fprintf(a.stdout, "Wrote the private key to %s (mode 0600). Keep it secret; do not commit it.\n\n", path)
	fmt.Fprintln(a.stdout, "Public key to paste into Okta (the app → General → Client Credentials →")
	fmt.Fprintln(a.stdout, "Public key / Private key → Add key → paste this JWK):")
	fmt.Fprintf(a.stdout, "%s\n\n", pub)
	// ConfigFromEnv reads the key only when the method says private_key_jwt
	// (the same key variables also configure oktasso sync): without that
	// line the app would be a public client.
	fmt.Fprintln(a.stdout, "Environment for private_key_jwt (oktasso.ConfigFromEnv; oktasso sync reads the last two):")
	fmt.Fprintf(a.stdout, "  %s=%s\n  %s=%s\n  %s=%s\n", envClientAuthMethod, "private_key_jwt", envPrivateKey, path, envPrivateKeyID, jwk.KeyID)
	return exitOK
}

// writeNewFile creates path with mode 0600 and data; it fails with an error
// wrapping fs.ErrExist when path exists.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
