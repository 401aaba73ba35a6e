// Command wsproxy is a WebSocket and HTTP/1.1 reverse proxy on its own event
// loops. See README.md.
//
//	wsproxy run [-config FILE | -listen ADDR -upstream ADDR]   serve (no flags: the seed demo)
//	wsproxy check -config FILE                                 validate a config
//	wsproxy echo -listen ADDR -id NAME                         echo backend
//	wsproxy loadtest -url ws://HOST/PATH -conns N ...           WebSocket load generator
//	wsproxy bench [-scenario idle|flood|ramp|echo|bulk] ...     capacity scenario end to end
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"wsproxy/internal/certs"
)

// version names the build in the log ("listening … version=…"); set it with
// go build -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: wsproxy <command> [flags]

commands:
  run      serve: -config FILE, or -listen ADDR -upstream ADDR; no flags runs the seed demo
  check    validate a config file: -config FILE
  echo     WebSocket echo + HTTP report backend: -listen ADDR -id NAME
  loadtest open N WebSocket connections and drive a workload: -url URL -conns N (see -h)
  bench    run a capacity scenario end to end, optionally against nginx and HAProxy (see -h)
  version  print the build's version, Go version and crypto backend (go or boringcrypto)

run flags: -workers N (master + N worker processes), -master, -loops N, -log-level LEVEL,
           -addr-file FILE (the bound addresses, for port 0)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = runCmd(args)
	case "check":
		err = checkCmd(args)
	case "echo":
		err = echoCmd(args)
	case "loadtest":
		err = loadtestCmd(args)
	case "bench":
		err = benchCmd(args)
	case "version", "-version", "--version":
		printVersion(os.Stdout)
		return
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "wsproxy: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
	logOut().Close() // the log lines still buffered go out first
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsproxy:", err)
		os.Exit(1)
	}
}

// printVersion writes "wsproxy VERSION go1.26.8 crypto=go rsa=go": the
// version (-ldflags "-X main.version=…"), the Go release, cryptoBackend and
// what signs with RSA keys (certs.RSASigner: "ifma" on a CPU with AVX-512
// IFMA, "openssl" with -tags openssl).
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "wsproxy %s %s crypto=%s rsa=%s\n", version, runtime.Version(), cryptoBackend(), rsaSigner())
}

// rsaSigner names what makes RSA signatures: certs.RSASigner ("ifma", "go",
// or "openssl" with -tags openssl), or BoringCrypto when that is the
// backend and OpenSSL is not in use.
func rsaSigner() string {
	if certs.RSASigner == "go" && cryptoBackend() == "boringcrypto" {
		return "boringcrypto"
	}
	return certs.RSASigner
}
