namespace VpcCni.Cni;

/// <summary>The VERSION answer: the request's version and every version the plugin supports.</summary>
public sealed record CniVersionResult(string CniVersion, IReadOnlyList<string> SupportedVersions)
{
    public byte[] ToJsonUtf8() => CniVersionResultJson.Write(this);

    /// <summary>Parses a plugin's VERSION output with libcni's rules (only 0.2.0 may omit the list).</summary>
    public static CniVersionResult Parse(ReadOnlySpan<byte> json) => CniVersionResultJson.Read(json);
}

/// <summary>One attachment the runtime still considers valid (GC's cni.dev/valid-attachments).</summary>
public sealed record CniAttachment(string ContainerId, string IfName);
