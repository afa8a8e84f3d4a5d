using System.Buffers;
using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>Collects a request message from a marshaller (Protobuf's generated marshallers are contextual).</summary>
internal sealed class BufferSerializationContext : SerializationContext
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private byte[]? _completed;

    public ReadOnlySpan<byte> Payload => _completed ?? _buffer.WrittenSpan;

    public override void Complete(byte[] payload) => _completed = payload;

    public override IBufferWriter<byte> GetBufferWriter() => _buffer;

    public override void SetPayloadLength(int payloadLength)
    {
    }

    public override void Complete()
    {
    }
}
