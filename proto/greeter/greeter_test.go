package greeter

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"go-micro.dev/v4/client"
	microjson "go-micro.dev/v4/codec/json"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"google.golang.org/protobuf/proto"
)

// The services code against these generated signatures; fail to compile if they change.
var (
	_ func(string, client.Client) GreeterService                                                                = NewGreeterService
	_ func(server.Server, GreeterHandler, ...server.HandlerOption) error                                        = RegisterGreeterHandler
	_ func(GreeterService, context.Context, *HelloRequest, ...client.CallOption) (Greeter_StreamService, error) = GreeterService.Stream
)

func sample() *HelloResponse {
	return &HelloResponse{
		Message: "hello alice",
		NodeId:  "producer-7f3c",
		Address: "10.0.0.7:50051",
		Weight:  3,
		Zone:    "eu-west-1a",
		Version: "1.2.0",
		Seq:     42,
	}
}

func assertSample(t *testing.T, got *HelloResponse) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Message", got.GetMessage(), "hello alice"},
		{"NodeId", got.GetNodeId(), "producer-7f3c"},
		{"Address", got.GetAddress(), "10.0.0.7:50051"},
		{"Weight", got.GetWeight(), int32(3)},
		{"Zone", got.GetZone(), "eu-west-1a"},
		{"Version", got.GetVersion(), "1.2.0"},
		{"Seq", got.GetSeq(), int32(42)},
	} {
		if f.got != f.want {
			t.Errorf("%s = %#v, want %#v", f.name, f.got, f.want)
		}
	}
	if !proto.Equal(got, sample()) {
		t.Errorf("round trip changed the message: %v", got)
	}
}

func TestHelloResponseProtoRoundTrip(t *testing.T) {
	b, err := proto.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	var got HelloResponse
	if err := proto.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	assertSample(t, &got)

	req := &HelloRequest{Name: "alice", Count: 5}
	b, err = proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var gotReq HelloRequest
	if err := proto.Unmarshal(b, &gotReq); err != nil {
		t.Fatal(err)
	}
	if gotReq.GetName() != "alice" || gotReq.GetCount() != 5 {
		t.Errorf("HelloRequest round trip = %v", &gotReq)
	}
}

// go-micro's JSON codec (application/json) is what the API gateway and any JSON client see.
func TestHelloResponseMicroJSONRoundTrip(t *testing.T) {
	var m microjson.Marshaler
	b, err := m.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	b = append([]byte(nil), b...) // the codec returns a pooled buffer's bytes

	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("codec output is not JSON: %v: %s", err, b)
	}
	want := map[string]any{
		"message": "hello alice",
		"nodeId":  "producer-7f3c",
		"address": "10.0.0.7:50051",
		"weight":  float64(3),
		"zone":    "eu-west-1a",
		"version": "1.2.0",
		"seq":     float64(42),
	}
	if len(fields) != len(want) {
		t.Errorf("JSON fields = %v, want %v", fields, want)
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("JSON %q = %#v, want %#v (%s)", k, fields[k], v, b)
		}
	}

	var got HelloResponse
	if err := m.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	assertSample(t, &got)

	// The proto field names are accepted on input as well.
	var got2 HelloResponse
	in := `{"message":"hello alice","node_id":"producer-7f3c","address":"10.0.0.7:50051","weight":3,"zone":"eu-west-1a","version":"1.2.0","seq":42}`
	if err := m.Unmarshal([]byte(in), &got2); err != nil {
		t.Fatal(err)
	}
	assertSample(t, &got2)
}

type stubHandler struct{}

func (stubHandler) Hello(_ context.Context, req *HelloRequest, rsp *HelloResponse) error {
	rsp.Message = "hello " + req.GetName()
	return nil
}

func (stubHandler) Stream(_ context.Context, req *HelloRequest, s Greeter_StreamStream) error {
	for i := int32(1); i <= req.GetCount(); i++ {
		if err := s.Send(&HelloResponse{Seq: i}); err != nil {
			return err
		}
	}
	return nil
}

func TestRegisterGreeterHandler(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	s := server.NewServer(
		server.Name("greeter.test"),
		server.Address("127.0.0.1:1"), // never listened on: Register only records it
		server.Registry(reg),
	)
	if err := RegisterGreeterHandler(s, stubHandler{}); err != nil {
		t.Fatal(err)
	}
	// The rpc server registers without Start (no listener, no broker) through its Register method.
	r, ok := s.(interface{ Register() error })
	if !ok {
		t.Fatalf("%T has no Register method", s)
	}
	if err := r.Register(); err != nil {
		t.Fatal(err)
	}
	svcs, err := reg.GetService("greeter.test")
	if err != nil || len(svcs) != 1 {
		t.Fatalf("GetService = %v, %v", svcs, err)
	}
	var names []string
	for _, e := range svcs[0].Endpoints {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "Greeter.Hello" || names[1] != "Greeter.Stream" {
		t.Errorf("endpoints = %v, want [Greeter.Hello Greeter.Stream]", names)
	}
}
