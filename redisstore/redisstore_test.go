package redisstore

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/oktasso/oktasso/storetest"
	"github.com/redis/go-redis/v9"
)

// startRedis starts a real redis-server on a free loopback port for the
// test, with persistence off. Without the binary the test is skipped, or
// fails under OKTASSO_REQUIRE_INTEGRATION=1.
func startRedis(t testing.TB) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("OKTASSO_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("redis-server not found and OKTASSO_REQUIRE_INTEGRATION=1: install it (apt-get install redis-server)")
		}
		t.Skip("redis-server not found; install it to run the Redis store tests")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { rdb.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := rdb.Ping(context.Background()).Err(); err == nil {
			return rdb
		} else if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConformance(t *testing.T) {
	rdb := startRedis(t)
	if err := storetest.CheckStore(context.Background(), New(rdb, "oktasso-test:")); err != nil {
		t.Fatal(err)
	}
}

func TestPrefixIsolates(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	a, b := New(rdb, "a:"), New(rdb, "b:")
	a.Set(ctx, "k", []byte("from a"), time.Minute)
	if _, err := b.Get(ctx, "k"); err == nil {
		t.Error("a key set under prefix a: is visible under prefix b:")
	}
	if got, _ := rdb.Get(ctx, "a:k").Result(); got != "from a" {
		t.Errorf("raw key a:k = %q; want the value under the prefix", got)
	}
}
