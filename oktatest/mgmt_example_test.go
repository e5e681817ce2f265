package oktatest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/oktasso/oktasso/oktatest"
)

// A directory sync reads every user with an API token, following the Link
// headers; it never builds a cursor itself.
func ExampleServer_AddAPIToken() {
	srv := oktatest.NewServer()
	defer srv.Close()
	srv.AddAPIToken("00api-token")
	srv.AddGeneratedGroups(3)
	srv.AddGeneratedUsers(450, 1)

	users, pages := 0, 0
	for next := srv.URL + "/api/v1/users?limit=200"; next != ""; pages++ {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "SSWS 00api-token")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		var page []struct {
			ID      string            `json:"id"`
			Profile map[string]string `json:"profile"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		users += len(page)
		next = ""
		for _, l := range resp.Header.Values("Link") { // one or two headers
			for _, link := range strings.Split(l, ",") {
				if u, ok := strings.CutSuffix(strings.TrimSpace(link), `>; rel="next"`); ok {
					next = strings.TrimPrefix(u, "<")
				}
			}
		}
	}
	fmt.Println(users, "users in", pages, "pages")
	// Output: 450 users in 3 pages
}
