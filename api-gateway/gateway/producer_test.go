package gateway

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/microlb/microlb/internal/consultest"
)

// producerBin is bin/producer built by TestMain for the end-to-end test.
var producerBin, producerErr = "", error(nil)

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(consultest.EnvSkip) != "1" && !testing.Short() {
		dir, err := os.MkdirTemp("", "gateway-e2e")
		if err == nil {
			defer os.RemoveAll(dir)
			producerBin = filepath.Join(dir, "producer")
			cmd := exec.Command("go", "build", "-o", producerBin, "github.com/microlb/microlb/services/producer")
			if out, err := cmd.CombinedOutput(); err != nil {
				producerErr = fmt.Errorf("building the producer: %v\n%s", err, out)
			}
		} else {
			producerErr = err
		}
	}
	os.Exit(m.Run())
}

// needProducer fails t when bin/producer could not be built and skips it
// when TestMain built none (short mode, integration tests skipped).
func needProducer(t *testing.T) {
	t.Helper()
	if producerErr != nil {
		t.Fatal(producerErr)
	}
	if producerBin == "" {
		t.Skip("short mode")
	}
}

// producer is one running bin/producer process.
type producer struct {
	cmd *exec.Cmd
	log string
}

func startProducer(t *testing.T, consulAddr string, args ...string) *producer {
	t.Helper()
	log := filepath.Join(t.TempDir(), "producer.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all := append([]string{"--registry", "consul", "--registry_address", consulAddr,
		"--server_address", "127.0.0.1:0", "--http_address", "127.0.0.1:0", "--register_ttl", "10", "--register_interval", "2", "--grace", "0s"}, args...)
	cmd := exec.Command(producerBin, all...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &producer{cmd: cmd, log: log}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return p
}

// kill9 kills the producer without letting it deregister.
func (p *producer) kill9(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}
