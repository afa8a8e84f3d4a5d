namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>The low three bits of a protobuf tag: how the field's value is encoded.</summary>
internal enum ProtoWireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}
