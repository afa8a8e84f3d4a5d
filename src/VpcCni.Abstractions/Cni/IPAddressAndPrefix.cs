using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace VpcCni.Cni;

/// <summary>
/// An address with a prefix length as CNI writes it ("10.1.0.5/16"): unlike <see cref="IPNetwork"/>, host bits are
/// kept, because a result's address is the interface's address, not its network.
/// </summary>
public readonly record struct IPAddressAndPrefix(IPAddress Address, int PrefixLength)
{
    public AddressFamily Family => Address.AddressFamily;

    public bool IsIPv4 => Address.AddressFamily == AddressFamily.InterNetwork;

    public static IPAddressAndPrefix Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"\"{text}\" is not an address with a prefix length (e.g. 10.0.0.5/24)");

    public static bool TryParse([NotNullWhen(true)] string? text, out IPAddressAndPrefix value)
    {
        value = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == text.Length - 1)
        {
            return false;
        }

        var addressText = text.AsSpan(0, slash);
        var prefixText = text.AsSpan(slash + 1);
        if (addressText.Contains('%') || !IPAddress.TryParse(addressText, out var address))
        {
            return false;
        }

        // Reject forms IPAddress.TryParse tolerates but CIDR notation does not (e.g. "10.1" or "010.0.0.1").
        if (address.AddressFamily == AddressFamily.InterNetwork && !IsDottedQuad(addressText))
        {
            return false;
        }

        foreach (var c in prefixText)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        if (prefixText.Length is 0 or > 3 || !int.TryParse(prefixText, System.Globalization.CultureInfo.InvariantCulture, out var prefix))
        {
            return false;
        }

        var max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix > max)
        {
            return false;
        }

        value = new IPAddressAndPrefix(address, prefix);
        return true;
    }

    /// <summary>The network this address lies in (host bits cleared).</summary>
    public IPNetwork Network => new(Mask(Address, PrefixLength), PrefixLength);

    public static IPAddressAndPrefix FromNetwork(IPNetwork network) => new(network.BaseAddress, network.PrefixLength);

    public override string ToString() => $"{Address}/{PrefixLength}";

    private static bool IsDottedQuad(ReadOnlySpan<char> text)
    {
        var parts = 0;
        var digits = 0;
        var leadingZero = false;
        foreach (var c in text)
        {
            if (c == '.')
            {
                if (digits == 0)
                {
                    return false;
                }

                parts++;
                digits = 0;
                leadingZero = false;
                continue;
            }

            if (c is < '0' or > '9' || digits >= 3 || leadingZero)
            {
                return false;
            }

            leadingZero = digits == 0 && c == '0';
            digits++;
        }

        return parts == 3 && digits > 0;
    }

    private static IPAddress Mask(IPAddress address, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        bytes = bytes[..length];
        for (var i = 0; i < length; i++)
        {
            var bitsInByte = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bitsInByte));
        }

        return new IPAddress(bytes);
    }
}
