using CsCheck;

namespace VpcCni.Hosting.Tests.Rpc;

/// <summary>The fuzz input both HTTP/2 fuzz runs share: a few parts concatenated, then up to four octets overwritten.</summary>
internal static class MutatedBytes
{
    public static Gen<byte[]> Of(Gen<byte[]> part, int maxParts) => Gen.Select(
        part.Array[0, maxParts],
        Gen.Int[0, 4],
        Gen.Int.Array[4],
        Gen.Byte.Array[4],
        (parts, mutations, positions, values) =>
        {
            var bytes = parts.SelectMany(p => p).ToArray();
            for (var i = 0; i < mutations && bytes.Length > 0; i++)
            {
                bytes[(int)((uint)positions[i] % bytes.Length)] = values[i];
            }

            return bytes;
        });
}
