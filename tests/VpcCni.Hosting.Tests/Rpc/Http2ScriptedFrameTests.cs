using System.Buffers.Binary;
using Grpc.Core;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Rpc.Http2;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>
/// The plugin's HTTP/2 client against a scripted server that reacts to what the client sends (<see cref="Http2TestPeer"/>):
/// GOAWAY, RST_STREAM sizes, flow-control windows in both directions, CONTINUATION, HPACK table sizes, frame sizes and
/// trailers-only responses.
/// </summary>
public sealed class Http2ScriptedFrameTests : IDisposable
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private static readonly AddNetworkReply Good = new() { Success = true, IPAllocationMetadata = { new IPAllocationMetadata { IPv4Addr = "10.0.0.7", RouteTableId = 2 } } };

    private readonly Http2TestPeer _peer = new();
    private readonly Http2UnaryCallInvoker _invoker;

    public Http2ScriptedFrameTests() => _invoker = Http2UnaryCallInvoker.ForAddress(_peer.SocketPath);

    public void Dispose()
    {
        _invoker.Dispose();
        _peer.Dispose();
    }

    private Task<AddNetworkReply> Add(string containerId = "c1", Metadata? headers = null) => Task.Run(() =>
        new CNIBackend.CNIBackendClient(_invoker).AddNetwork(new AddNetworkRequest { ContainerID = containerId }, new CallOptions(headers, DateTime.UtcNow.AddSeconds(10))));

    private static async Task<Status> FailureOf(Task<AddNetworkReply> call)
    {
        var act = () => call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);
        return (await act.Should().ThrowAsync<RpcException>()).Which.Status;
    }

    /// <summary>One call served start to end on a fresh connection, so a test can begin on a connection in use.</summary>
    private async Task<Http2TestConnection> ServeFirstCall(params Http2Setting[] settings)
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.SendSettings(settings);
        connection.ReadRequest(1);
        connection.ReadUntil(f => f.Type == Http2FrameType.Settings && f.Has(Http2Flags.Ack));
        connection.SendReply(1, Good);
        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
        return connection;
    }

    [Fact]
    public async Task Call_GoAwayBeforeTheRequestWasProcessed_IsUnavailableAndTheNextCallOpensANewConnection()
    {
        var call = Add();
        var first = _peer.Accept();
        first.ReadPreface();
        first.SendSettings();
        first.SendFrame(Http2FrameType.GoAway, 0, 0, [0, 0, 0, 0, 0, 0, 0, 0]);

        var status = await FailureOf(call);

        status.StatusCode.Should().Be(StatusCode.Unavailable);
        status.Detail.Should().Contain("GOAWAY");
        var second = Add();
        var fresh = _peer.Accept();
        fresh.ReadPreface();
        fresh.ReadRequest(1);
        fresh.SendReply(1, Good);
        (await second.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
    }

    [Fact]
    public async Task Call_GoAwayAfterTheRequestCoveringItsStream_CompletesAndTheConnectionIsNotReused()
    {
        var call = Add();
        var first = _peer.Accept();
        first.ReadPreface();
        first.ReadRequest(1);
        first.SendFrame(Http2FrameType.GoAway, 0, 0, [0, 0, 0, 1, 0, 0, 0, 0]);
        first.SendReply(1, Good);

        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
        var second = Add();
        var fresh = _peer.Accept(TimeSpan.FromSeconds(5));
        fresh.ReadPreface();
        fresh.ReadRequest(1).Body.Should().NotBeEmpty();
        fresh.SendReply(1, Good);
        (await second.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task Call_RstStreamOfEachPayloadLength_OnlyFourOctetsResetsTheStreamOthersAreAFrameSizeConnectionError(int length)
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        var payload = new byte[length];
        if (length >= 4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)Http2ErrorCode.Cancel);
        }

        connection.SendFrame(Http2FrameType.RstStream, 0, 1, payload);
        var status = await FailureOf(call);

        if (length == 4)
        {
            status.StatusCode.Should().Be(StatusCode.Cancelled);
            status.Detail.Should().Contain("CANCEL");
            // A stream error: the connection carries the next call.
            var next = Add();
            connection.ReadRequest(3);
            connection.SendReply(3, Good);
            (await next.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
            _peer.ConnectionPending(TimeSpan.Zero).Should().BeFalse();
        }
        else
        {
            status.StatusCode.Should().Be(StatusCode.Internal);
            status.Detail.Should().Contain("FRAME_SIZE_ERROR");
            connection.ReadUntil(f => f.Type == Http2FrameType.GoAway).GoAwayCode.Should().Be(Http2ErrorCode.FrameSizeError);
        }
    }

    /// <summary>The server's initial stream window is 16 octets: the second call (stream 3) has sent its first DATA frame.</summary>
    private async Task<(Http2TestConnection Connection, Task<AddNetworkReply> Call, string ContainerId, ClientFrame First)> SecondCallStalledAtASmallWindow()
    {
        var connection = await ServeFirstCall(new Http2Setting(Http2Setting.InitialWindowSize, 16));
        var containerId = new string('a', 200);
        var call = Add(containerId);
        connection.ReadUntil(f => f.Type == Http2FrameType.Headers && f.Stream == 3);
        return (connection, call, containerId, connection.ReadFrame());
    }

    /// <summary>The rest of the body arrives whole, and the reply completes the call.</summary>
    private static async Task FinishBodyAndReply(Http2TestConnection connection, Task<AddNetworkReply> call, string containerId, ClientFrame first)
    {
        var rest = connection.ReadUntil(f => f.Type == Http2FrameType.Data && f.Has(Http2Flags.EndStream));
        (first.Payload.Length + rest.Payload.Length).Should().Be(5 + new AddNetworkRequest { ContainerID = containerId }.CalculateSize());
        connection.SendReply(3, Good);
        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
    }

    [Fact]
    public async Task Call_ServersSmallInitialStreamWindow_SendsOnlyThatMuchUntilAWindowUpdate()
    {
        var (connection, call, containerId, first) = await SecondCallStalledAtASmallWindow();

        first.Type.Should().Be(Http2FrameType.Data);
        first.Payload.Should().HaveCount(16);
        first.Has(Http2Flags.EndStream).Should().BeFalse();
        connection.ReadFrameWithin(Quiet).Should().BeNull("the stream window is used up");
        connection.SendFrame(Http2FrameType.WindowUpdate, 0, 3, [0, 0, 4, 0]);
        await FinishBodyAndReply(connection, call, containerId, first);
    }

    [Fact]
    public async Task Call_ServerRaisesInitialWindowMidBody_OpenStreamGetsTheDifferenceAndTheBodyCompletes()
    {
        var (connection, call, containerId, first) = await SecondCallStalledAtASmallWindow();
        first.Payload.Should().HaveCount(16);
        connection.ReadFrameWithin(Quiet).Should().BeNull("the stream window is used up");

        // RFC 9113 §6.9.2: a new SETTINGS_INITIAL_WINDOW_SIZE changes the window of every open stream by the difference.
        connection.SendSettings(new Http2Setting(Http2Setting.InitialWindowSize, 1024));
        connection.ReadUntil(f => f.Type == Http2FrameType.Settings && f.Has(Http2Flags.Ack));
        await FinishBodyAndReply(connection, call, containerId, first);
    }

    [Fact]
    public async Task Call_ServerLowersInitialWindowMidBody_StreamWindowGoesNegativeAndSendingWaitsUntilItIsPositive()
    {
        var (connection, call, containerId, first) = await SecondCallStalledAtASmallWindow();
        first.Payload.Should().HaveCount(16);

        connection.SendSettings(new Http2Setting(Http2Setting.InitialWindowSize, 8)); // stream window 8 - 16 = -8
        connection.ReadUntil(f => f.Type == Http2FrameType.Settings && f.Has(Http2Flags.Ack));
        connection.SendFrame(Http2FrameType.WindowUpdate, 0, 3, [0, 0, 0, 8]); // -8 + 8 = 0: still nothing to send
        connection.ReadFrameWithin(Quiet).Should().BeNull("a window raised from negative to zero allows no data");
        connection.SendFrame(Http2FrameType.WindowUpdate, 0, 3, [0, 0, 4, 0]);
        await FinishBodyAndReply(connection, call, containerId, first);
    }

    [Fact]
    public async Task Call_BodyLargerThanTheConnectionWindow_WaitsForBothConnectionAndStreamWindowUpdates()
    {
        var containerId = new string('a', 100_000);
        var call = Add(containerId);
        var connection = _peer.Accept();
        connection.ReadPreface();
        var sent = 0;
        while (sent < 65_535)
        {
            var frame = connection.ReadFrame();
            if (frame.Type == Http2FrameType.Data)
            {
                frame.Payload.Length.Should().BeLessThanOrEqualTo(16_384);
                sent += frame.Payload.Length;
            }
        }

        sent.Should().Be(65_535);
        connection.ReadFrameWithin(Quiet).Should().BeNull("both windows are used up");
        connection.SendFrame(Http2FrameType.WindowUpdate, 0, 0, [0, 1, 0, 0]);
        connection.ReadFrameWithin(Quiet).Should().BeNull("the stream window is still used up");
        connection.SendFrame(Http2FrameType.WindowUpdate, 0, 1, [0, 1, 0, 0]);
        while (true)
        {
            var frame = connection.ReadFrame();
            if (frame.Type == Http2FrameType.Data)
            {
                sent += frame.Payload.Length;
                if (frame.Has(Http2Flags.EndStream))
                {
                    break;
                }
            }
        }

        sent.Should().Be(5 + new AddNetworkRequest { ContainerID = containerId }.CalculateSize());
        connection.SendReply(1, Good);
        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
    }

    [Fact]
    public async Task Call_AfterReceivingData_ReturnsTheConnectionCreditWithAWindowUpdate()
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        var initial = connection.ReadFrame();
        initial.Type.Should().Be(Http2FrameType.WindowUpdate);
        initial.WindowIncrement.Should().Be(Http2GrpcConnection.ReceiveWindow - 65_535);
        connection.ReadRequest(1);
        // A padded DATA frame: flow control counts its whole payload, padding included.
        var message = Http2TestConnection.GrpcMessage(Good);
        byte[] padded = [100, .. message, .. new byte[100]];
        connection.Send(o =>
        {
            Http2FrameCodec.WriteHeaders(o, 1, Http2TestConnection.Block((":status", "200")), endStream: false, 16_384);
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Data, Http2Flags.Padded, 1, padded);
            Http2FrameCodec.WriteHeaders(o, 1, Http2TestConnection.Block(("grpc-status", "0")), endStream: true, 16_384);
        });
        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);

        var next = Add();
        var before = connection.Received.Count;
        connection.ReadUntil(f => f.Type == Http2FrameType.Headers && f.Stream == 3);

        connection.Received.Skip(before).Should().ContainSingle(f => f.Type == Http2FrameType.WindowUpdate && f.Stream == 0)
            .Which.WindowIncrement.Should().Be(padded.Length);
        connection.ReadRequest(3);
        connection.SendReply(3, Good);
        await next.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Call_ReplyHeadersAndTrailersInContinuationFrames_AreReassembled()
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        var headers = Http2TestConnection.Block((":status", "200"), ("content-type", "application/grpc"), ("x-server", "scripted"));
        var trailers = Http2TestConnection.Block(("x-trailer", "t"), ("grpc-status", "0"));
        connection.Send(o =>
        {
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Headers, 0, 1, headers.AsSpan(0, 5));
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Continuation, 0, 1, headers.AsSpan(5, 10));
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Continuation, Http2Flags.EndHeaders, 1, headers.AsSpan(15));
            Http2FrameCodec.WriteData(o, 1, Http2TestConnection.GrpcMessage(Good), endStream: false);
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Headers, Http2Flags.EndStream, 1, trailers.AsSpan(0, 3));
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Continuation, Http2Flags.EndHeaders, 1, trailers.AsSpan(3));
        });

        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
    }

    // A HEADERS frame may carry an empty fragment (RFC 9113 §6.2), bare or once its padding or priority fields are removed.
    [Theory]
    [InlineData(Http2Flags.None, new byte[0])]
    [InlineData(Http2Flags.Padded, new byte[] { 2, 0, 0 })]
    [InlineData(Http2Flags.Priority, new byte[] { 0, 0, 0, 0, 15 })]
    public async Task Call_HeadersWithAnEmptyFragmentAndTheBlockInContinuation_IsReassembled(byte flags, byte[] payload)
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        var headers = Http2TestConnection.Block((":status", "200"), ("content-type", "application/grpc"));
        connection.Send(o =>
        {
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Headers, flags, 1, payload);
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Continuation, Http2Flags.EndHeaders, 1, headers);
            Http2FrameCodec.WriteData(o, 1, Http2TestConnection.GrpcMessage(Good), endStream: false);
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Headers, (byte)(Http2Flags.EndHeaders | Http2Flags.EndStream), 1, Http2TestConnection.Block(("grpc-status", "0")));
        });

        (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
    }

    [Fact]
    public async Task Call_HeaderBlockInterruptedBeforeItsContinuation_IsAProtocolErrorAndTheClientSendsGoAway()
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        var headers = Http2TestConnection.Block((":status", "200"), ("content-type", "application/grpc"));
        connection.Send(o =>
        {
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Headers, 0, 1, headers.AsSpan(0, 5));
            Http2FrameCodec.WritePing(o, ack: false, new byte[8]);
            Http2FrameCodec.WriteFrame(o, Http2FrameType.Continuation, Http2Flags.EndHeaders, 1, headers.AsSpan(5));
        });

        var status = await FailureOf(call);

        status.StatusCode.Should().Be(StatusCode.Internal);
        status.Detail.Should().Contain("PROTOCOL_ERROR");
        connection.ReadUntil(f => f.Type == Http2FrameType.GoAway).GoAwayCode.Should().Be(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Call_RequestHeaderBlockLargerThanAFrame_IsSentAsHeadersAndContinuationFrames()
    {
        var call = Add(headers: new Metadata { { "x-big", new string('m', 40_000) } });
        var connection = _peer.Accept();
        connection.ReadPreface();
        var (block, _) = connection.ReadRequest(1);

        var frames = connection.Received.Where(f => f.Stream == 1 && f.Type != Http2FrameType.Data).ToList();
        frames.Select(f => f.Type).Should().Equal(Http2FrameType.Headers, Http2FrameType.Continuation, Http2FrameType.Continuation);
        frames.Should().OnlyContain(f => f.Payload.Length <= 16_384);
        frames.Select(f => f.Has(Http2Flags.EndHeaders)).Should().Equal(false, false, true);
        new HpackDecoder().Decode(block).Should().Contain(("x-big", new string('m', 40_000)));
        connection.SendReply(1, Good);
        await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Call_AfterTheServerLowersHeaderTableSize_NextHeaderBlockOpensWithOneDynamicTableSizeUpdate()
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.SendSettings(new Http2Setting(Http2Setting.HeaderTableSize, 0));
        var (firstBlock, _) = connection.ReadRequest(1);
        connection.ReadUntil(f => f.Type == Http2FrameType.Settings && f.Has(Http2Flags.Ack));
        connection.SendReply(1, Good);
        await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);

        var second = Add();
        var (secondBlock, _) = connection.ReadRequest(3);
        connection.SendReply(3, Good);
        await second.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);
        var third = Add();
        var (thirdBlock, _) = connection.ReadRequest(5);
        connection.SendReply(5, Good);
        await third.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);

        firstBlock[0].Should().NotBe(0x20, "the client's request was written before the server's SETTINGS arrived");
        secondBlock[0].Should().Be(0x20, "a dynamic table size update to 0 is owed (RFC 7541 §4.2)");
        thirdBlock[0].Should().NotBe(0x20, "the update is owed once");
        new HpackDecoder(maxTableSize: 0).Decode(secondBlock).Should().Contain((":path", "/rpc.CNIBackend/AddNetwork"));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(true, 8192)]
    public async Task Call_ServersDynamicTableSizeUpdate_EvictsTheTableOrIsACompressionErrorAboveOurLimit(bool sizeUpdate, int? updateTo)
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        // The first reply indexes content-type (dynamic index 62); the second refers to it, after a size update or not.
        byte[] indexing = [0x88, 0x40, 12, .. "content-type"u8, 16, .. "application/grpc"u8];
        connection.Send(o =>
        {
            Http2FrameCodec.WriteHeaders(o, 1, indexing, endStream: false, 16_384);
            Http2FrameCodec.WriteData(o, 1, Http2TestConnection.GrpcMessage(Good), endStream: false);
            Http2FrameCodec.WriteHeaders(o, 1, Http2TestConnection.Block(("grpc-status", "0")), endStream: true, 16_384);
        });
        await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);
        var next = Add();
        connection.ReadRequest(3);
        var update = new System.Buffers.ArrayBufferWriter<byte>();
        if (sizeUpdate)
        {
            HpackEncoder.WriteInteger(update, updateTo ?? 0, 5, 0x20);
        }

        byte[] referring = [.. update.WrittenSpan, 0x88, 0xBE];
        connection.Send(o =>
        {
            Http2FrameCodec.WriteHeaders(o, 3, referring, endStream: false, 16_384);
            Http2FrameCodec.WriteData(o, 3, Http2TestConnection.GrpcMessage(Good), endStream: false);
            Http2FrameCodec.WriteHeaders(o, 3, Http2TestConnection.Block(("grpc-status", "0")), endStream: true, 16_384);
        });

        if (!sizeUpdate)
        {
            (await next.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(Good);
            return;
        }

        var status = await FailureOf(next);
        status.StatusCode.Should().Be(StatusCode.Internal);
        status.Detail.Should().Contain(updateTo is null ? "index 62 is out of range" : "exceeds the advertised");
        connection.ReadUntil(f => f.Type == Http2FrameType.GoAway).GoAwayCode.Should().Be(Http2ErrorCode.CompressionError);
    }

    [Theory]
    [InlineData(16_384, true)]
    [InlineData(16_385, false)]
    public async Task Call_ReplyFrameAtOrAboveOurMaxFrameSize_IsAcceptedUpToItAndAFrameSizeErrorBeyond(int frameLength, bool accepted)
    {
        var reply = new AddNetworkReply { Success = true, PodENIMAC = new string('x', frameLength - 10) };
        var message = Http2TestConnection.GrpcMessage(reply);
        message.Should().HaveCount(frameLength);
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        connection.Send(o =>
        {
            Http2FrameCodec.WriteHeaders(o, 1, Http2TestConnection.Block((":status", "200")), endStream: false, 16_384);
            Http2FrameCodec.WriteData(o, 1, message, endStream: false);
            Http2FrameCodec.WriteHeaders(o, 1, Http2TestConnection.Block(("grpc-status", "0")), endStream: true, 16_384);
        });

        if (accepted)
        {
            (await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken)).Should().Be(reply);
            return;
        }

        var status = await FailureOf(call);
        status.StatusCode.Should().Be(StatusCode.Internal);
        status.Detail.Should().Contain("FRAME_SIZE_ERROR");
        connection.ReadUntil(f => f.Type == Http2FrameType.GoAway).GoAwayCode.Should().Be(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task Call_LargeBody_IsSplitAtTheServersMaxFrameSizeWhicheverItAdvertises()
    {
        var containerId = new string('a', 40_000);
        var call = Add(containerId);
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.SendSettings(new Http2Setting(Http2Setting.MaxFrameSize, 65_536));
        connection.ReadRequest(1);
        var firstSizes = connection.Received.Where(f => f.Type == Http2FrameType.Data).Select(f => f.Payload.Length).ToList();
        connection.ReadUntil(f => f.Type == Http2FrameType.Settings && f.Has(Http2Flags.Ack));
        // The first body used most of the connection window: give it back, so only the frame size limits the second.
        connection.SendFrame(Http2FrameType.WindowUpdate, 0, 0, [0, 1, 0, 0]);
        connection.SendReply(1, Good);
        await call.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);

        var second = Add(containerId);
        var before = connection.Received.Count;
        connection.ReadRequest(3);
        var secondSizes = connection.Received.Skip(before).Where(f => f.Type == Http2FrameType.Data).Select(f => f.Payload.Length).ToList();
        connection.SendReply(3, Good);
        await second.WaitAsync(Http2TestPeer.Patience, TestContext.Current.CancellationToken);

        firstSizes.Should().Equal(16_384, 16_384, firstSizes.Sum() - 32_768);
        secondSizes.Should().Equal(firstSizes.Sum());
    }

    [Theory]
    [InlineData("200", "5", "not%20here", StatusCode.NotFound, "not here")]
    [InlineData("200", "0", null, StatusCode.Internal, "OK status without a response message")]
    [InlineData("200", null, null, StatusCode.Internal, "no valid grpc-status")]
    [InlineData("503", null, null, StatusCode.Unavailable, "HTTP status 503")]
    [InlineData("404", null, null, StatusCode.Unimplemented, "HTTP status 404")]
    public async Task Call_TrailersOnlyResponse_TheOneHeaderBlockDecidesTheStatus(string httpStatus, string? grpcStatus, string? grpcMessage, StatusCode expected, string detail)
    {
        var call = Add();
        var connection = _peer.Accept();
        connection.ReadPreface();
        connection.ReadRequest(1);
        List<(string, string)> fields = [(":status", httpStatus), ("content-type", "application/grpc")];
        if (grpcStatus is not null)
        {
            fields.Add(("grpc-status", grpcStatus));
        }

        if (grpcMessage is not null)
        {
            fields.Add(("grpc-message", grpcMessage));
        }

        connection.Send(o => Http2FrameCodec.WriteHeaders(o, 1, Http2TestConnection.Block([.. fields]), endStream: true, 16_384));

        var status = await FailureOf(call);

        status.StatusCode.Should().Be(expected);
        status.Detail.Should().Contain(detail);
    }
}
