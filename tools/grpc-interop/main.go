// grpc-interop-server: a grpc-go (Debian's golang-google-grpc-dev) server of upstream's rpc.CNIBackend with fixed
// replies, so the plugin's hand-written HTTP/2 client is tested against an HTTP/2 stack that is not Kestrel.
// Messages are encoded by hand with protowire (no protoc in the build); the gRPC codec passes bytes through.
//
//	grpc-interop-server -listen unix:///tmp/x.sock | -listen 127.0.0.1:0
//
// It prints "listening <address>" once it accepts connections and stops on SIGTERM/SIGINT or when stdin closes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "unix:///path or host:port")
	flag.Parse()

	network, address := "tcp", *listen
	if strings.HasPrefix(address, "unix://") {
		network, address = "unix", strings.TrimPrefix(address, "unix://")
	}
	listener, err := net.Listen(network, address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}

	server := grpc.NewServer(grpc.CustomCodec(rawCodec{}))
	server.RegisterService(&serviceDesc, nil)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; server.Stop() }()
	go func() { io.Copy(io.Discard, os.Stdin); server.Stop() }()

	if network == "unix" {
		fmt.Printf("listening unix://%s\n", address)
	} else {
		fmt.Printf("listening %s\n", listener.Addr().String())
	}
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

// rawCodec hands the handlers the message bytes; they decode and encode with protowire.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) String() string { return "proto" }

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "rpc.CNIBackend",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "AddNetwork", Handler: unary(addNetwork)},
		{MethodName: "DelNetwork", Handler: unary(delNetwork)},
	},
	Metadata: "rpc.proto",
}

func unary(handle func(context.Context, []byte) ([]byte, error)) func(interface{}, context.Context, func(interface{}) error, grpc.UnaryServerInterceptor) (interface{}, error) {
	return func(_ interface{}, ctx context.Context, decode func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
		var request []byte
		if err := decode(&request); err != nil {
			return nil, err
		}
		reply, err := handle(ctx, request)
		if err != nil {
			return nil, err
		}
		return &reply, nil
	}
}

// addNetwork: a fixed reply naming the request's container; ContainerID "missing" is a NOT_FOUND error whose message
// needs percent-encoding, "slow" waits for the call's deadline.
func addNetwork(ctx context.Context, request []byte) ([]byte, error) {
	fields, err := parseStrings(request)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "AddNetworkRequest: %v", err)
	}
	switch fields[7] {
	case "missing":
		return nil, status.Error(codes.NotFound, "no such container: \"missing\" — 100% gone")
	case "slow":
		<-ctx.Done()
		return nil, status.Error(codes.DeadlineExceeded, "the call's deadline passed in the server")
	}
	return addNetworkReply(fields[7], len(request)), nil
}

// delNetwork: a fixed reply; Reason "big-reply" makes the reply larger than the client's default 64 KiB window.
func delNetwork(_ context.Context, request []byte) ([]byte, error) {
	fields, err := parseStrings(request)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "DelNetworkRequest: %v", err)
	}
	policy := "none"
	if fields[5] == "big-reply" {
		policy = strings.Repeat("x", 200_000)
	}
	return delNetworkReply(policy), nil
}
