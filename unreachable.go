package oktasso

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
)

// Why the provider cannot be reached, as far as oktasso can tell.
type unreachableKind int

const (
	unreachableOther   unreachableKind = iota
	unreachableNoHost                  // the host name does not resolve
	unreachableNetwork                 // DNS, connection or timeout trouble
)

// unreachableKindOf classifies a discovery failure.
func unreachableKindOf(err error) unreachableKind {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return unreachableNoHost
	}
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) || errors.Is(err, context.DeadlineExceeded) {
		return unreachableNetwork
	}
	return unreachableOther
}

// unreachableReason says, in one sentence for the log, why the provider at
// issuer could not be reached, and what to fix, naming the settings (the
// environment variables of ConfigFromEnv and the Config fields).
func unreachableReason(iss string, err error) (reason, fix string) {
	host := iss
	if u, perr := url.Parse(iss); perr == nil && u.Host != "" {
		host = u.Hostname()
	}
	const settings = "OKTA_DOMAIN / OKTA_ISSUER (Config.Domain / Config.Issuer)"
	switch unreachableKindOf(err) {
	case unreachableNoHost:
		reason = "the host name " + host + " does not resolve"
		if strings.Contains(host, "-admin.") {
			return reason, "set " + settings + " to the org's domain, " + strings.Replace(host, "-admin.", ".", 1) + ", not the admin console's -admin host"
		}
		return reason, "check " + settings + " for a typo in the DNS name (the org's domain, e.g. dev-123.okta.com, not the admin console's -admin host), or this machine's DNS, network and proxy"
	case unreachableNetwork:
		return "the network between this server and " + host + " failed", "check that " + settings + " names the org, and this server's network, firewall and proxy (HTTPS_PROXY) towards " + host
	}
	return "discovery at " + host + " failed", "check " + settings + ": it must name the org (and the authorization server, if any) exactly"
}
