namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>A message of the plugin's protobuf codec: written in field-number order, read back tolerating unknown fields.</summary>
internal interface IWireMessage<TSelf>
    where TSelf : class, IWireMessage<TSelf>
{
    /// <summary>Writes the fields (proto3: values equal to their default are left out).</summary>
    void WriteTo(ProtoWriter writer);

    /// <summary>
    /// Reads a message; with <paramref name="into"/>, merges into it as protobuf does for a sub-message seen twice
    /// (scalars replaced, repeated fields appended, sub-messages merged).
    /// </summary>
    /// <exception cref="ProtoWireException">The bytes are not a protobuf message.</exception>
    static abstract TSelf Read(ReadOnlySpan<byte> data, TSelf? into = null);
}
