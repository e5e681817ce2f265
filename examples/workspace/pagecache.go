package main

import (
	"strconv"
	"sync"
)

// pageCache keeps rendered pages by everything they show, so a person
// reloading a page gets the bytes rendered the last time instead of a new
// html/template run (about 30 µs for the workspace page; a hit is a map
// lookup). A page is a pure function of its data: the page's name, the
// signed-in user's fields that the templates print, and, for the
// workspace, the accounts' version (accountStore bumps it on every
// change). pageKey spells that out, and TestPageKeyCoversRenderedFields
// fails when a template prints a field the key leaves out.
//
// It holds at most maxBytes of keys and pages (each counted with
// pageOverhead for the map entry), whatever their number and size: random
// ones are evicted to make room, and a page larger than the whole budget is
// not kept. Safe for concurrent use; a nil *pageCache caches nothing.
type pageCache struct {
	maxBytes int
	mu       sync.RWMutex
	pages    map[string][]byte
	bytes    int // the cost of every page held
}

// defaultPageCacheBytes bounds the cache at 4 MB: some 400 workspace pages
// of 20 accounts, or 1,500 of the smaller pages.
const defaultPageCacheBytes = 4 << 20

// pageOverhead is about what a cached page costs besides its key and
// bytes: the map entry and the string and slice headers.
const pageOverhead = 64

func newPageCache(maxBytes int) *pageCache {
	if maxBytes <= 0 {
		return nil
	}
	return &pageCache{maxBytes: maxBytes, pages: make(map[string][]byte)}
}

// get returns the page rendered for key, or nil. The bytes are shared:
// write them, never modify them.
func (c *pageCache) get(key string) []byte {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pages[key]
}

// put keeps page for key; page must not be modified afterwards.
func (c *pageCache) put(key string, page []byte) {
	cost := len(key) + len(page) + pageOverhead
	if c == nil || cost > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pages[key]; ok {
		c.bytes -= len(key) + len(old) + pageOverhead
		delete(c.pages, key)
	}
	for k, v := range c.pages { // map order: random victims
		if c.bytes+cost <= c.maxBytes {
			break
		}
		c.bytes -= len(k) + len(v) + pageOverhead
		delete(c.pages, k)
	}
	c.pages[key] = page
	c.bytes += cost
}

// pageKey names a page and the data it shows. The accounts (the listed
// ones and their count) are keyed by accountsVersion, which the caller
// reads together with them.
func pageKey(name string, d pageData, accountsVersion uint64) string {
	k := make(keyBuilder, 0, 256)
	k.str(name)
	k.str(d.Title)
	k.str(string(d.LoginButton))
	k.str(d.Provider)
	k.flag(d.SignedOut)
	k.flag(d.SPA)
	k.num(int64(accountsVersion))
	k.flag(d.User != nil)
	if u := d.User; u != nil {
		// The fields of u that the templates print.
		k.str(u.Issuer)
		k.str(u.Subject)
		k.str(u.Name)
		k.str(u.Email)
		k.flag(u.EmailVerified)
		k.str(u.Username)
		k.flag(u.Internal)
		k.str(u.LocalID)
		k.flag(u.AuthTime.IsZero())
		k.num(u.AuthTime.UnixNano())
		k.num(int64(len(u.Groups)))
		for _, g := range u.Groups {
			k.str(g)
		}
	}
	return string(k)
}

// keyBuilder writes every value with its length or a terminator, so no two
// different sequences of values give the same key.
type keyBuilder []byte

func (k *keyBuilder) str(s string) {
	*k = append(append(strconv.AppendInt(*k, int64(len(s)), 10), ':'), s...)
}

func (k *keyBuilder) num(n int64) { *k = append(strconv.AppendInt(*k, n, 10), ';') }

func (k *keyBuilder) flag(v bool) {
	if v {
		*k = append(*k, 'T')
	} else {
		*k = append(*k, 'F')
	}
}
