//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// The engine on a TLS TCP endpoint that verifies the client, as a remote engine is
// reached (dockerd --tlsverify -H tcp://…): docker magents and every command it runs for
// the user (compose up and down, docker exec, docker logs) reach it whether the TLS comes
// from docker's flags, from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, or from a context.
func TestEngineOverTLS(t *testing.T) {
	anyEngine(t, "the client's TLS settings")
	parallelSuite(t)
	certs := t.TempDir()
	addr := serveEngineOverTLS(t, certs)
	host := "tcp://" + addr

	// The endpoint refuses a client without the certificate: what passes below is TLS.
	dockerIn(t.TempDir(), []string{"DOCKER_HOST=" + host}, "version", "--format", "{{.Server.Version}}").
		Assert(t, icmd.Expected{ExitCode: 1})

	e := newFleetEnv(t, "tls").inProject("tlse2e")
	flags := []string{"--tlsverify", "--tlscacert", filepath.Join(certs, "ca.pem"), "--tlscert", filepath.Join(certs, "cert.pem"),
		"--tlskey", filepath.Join(certs, "key.pem"), "-H", host}
	withFlags := func(args ...string) *icmd.Result {
		all := append(append(append([]string{}, flags...), "magents", "-p", "tlse2e"), args...)
		return dockerIn(e.dir, []string{"ANTHROPIC_API_KEY=" + e.apiKey, "DOCKER_HOST=", "DOCKER_CONTEXT="}, all...)
	}
	withFlags("up", "--agents", "1", "--egress", "open").Assert(t, icmd.Success) // compose up, over TLS
	withFlags("exec", "agent-1", "--", "sh", "-c", "exit 7").Assert(t, icmd.Expected{ExitCode: 7})
	withFlags("logs", "--tail", "5", "agent-1").Assert(t, icmd.Success)
	withFlags("ps", "--format", "{{.Agent}} {{.ContainerState}}").Assert(t, icmd.Expected{Out: "agent-1 running"})

	// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as docker-machine and remote setups export them.
	env := []string{"DOCKER_HOST=" + host, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + certs, "DOCKER_CONTEXT="}
	dockerIn(e.dir, env, "magents", "-p", "tlse2e", "exec", "agent-1", "--", "true").Assert(t, icmd.Success)
	dockerIn(e.dir, env, "magents", "-p", "tlse2e", "logs", "--tail", "1", "agent-1").Assert(t, icmd.Success)

	// A context holding the TLS material, in a config dir of its own.
	cfg := privateDockerConfig(t)
	ctxEnv := []string{"DOCKER_CONFIG=" + cfg, "DOCKER_HOST=", "DOCKER_CONTEXT="}
	dockerIn(e.dir, ctxEnv, "context", "create", "tlse2e", "--docker",
		"host="+host+",ca="+filepath.Join(certs, "ca.pem")+",cert="+filepath.Join(certs, "cert.pem")+",key="+filepath.Join(certs, "key.pem")).
		Assert(t, icmd.Success)
	dockerIn(e.dir, ctxEnv, "--context", "tlse2e", "magents", "-p", "tlse2e", "exec", "agent-1", "--", "sh", "-c", "exit 3").
		Assert(t, icmd.Expected{ExitCode: 3})
	withFlags("down").Assert(t, icmd.Success) // compose down, over TLS
	if out := docker("ps", "-aq", "--filter", "label=com.docker.compose.project=tlse2e").Stdout(); strings.TrimSpace(out) != "" {
		t.Errorf("down over TLS left containers: %s", out)
	}
}

// serveEngineOverTLS puts a TLS endpoint that requires a client certificate in front of
// the engine's socket and writes ca.pem, cert.pem and key.pem (a client's) into dir, as
// docker's --tlsverify and DOCKER_CERT_PATH expect them. It returns the endpoint's address.
func serveEngineOverTLS(t *testing.T, dir string) string {
	t.Helper()
	socket := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		socket = strings.TrimPrefix(h, "unix://")
	}
	caKey, caCert := newCert(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "magents e2e CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	})
	serverKey, serverCert := newCert(t, caKey, caCert, &x509.Certificate{
		Subject: pkix.Name{CommonName: "engine"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	})
	clientKey, clientCert := newCert(t, caKey, caCert, &x509.Certificate{
		Subject: pkix.Name{CommonName: "client"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	})
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caCert.Raw)
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", clientCert.Raw)
	der, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "key.pem"), "EC PRIVATE KEY", der)

	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverCert.Raw}, PrivateKey: serverKey}},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { relay(c, socket) })
		}
	}()
	return ln.Addr().String()
}

// relay carries one client connection to the engine's socket and back (attach and exec
// upgrade the connection: it is carried as bytes, both ways, until either side closes).
func relay(client net.Conn, socket string) {
	defer client.Close()
	if err := client.(*tls.Conn).Handshake(); err != nil {
		return // a client without the certificate
	}
	engine, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	defer engine.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(engine, client); engine.(*net.UnixConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(client, engine); client.(*tls.Conn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

func newCert(t *testing.T, parentKey *ecdsa.PrivateKey, parent, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
