using System.Buffers;
using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>Hands a received message to a marshaller.</summary>
internal sealed class BufferDeserializationContext(byte[] payload) : DeserializationContext
{
    public override int PayloadLength => payload.Length;

    public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
}
