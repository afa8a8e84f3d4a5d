namespace VpcCni.Cni;

/// <summary>A failure that becomes exactly this CNI error object on stdout.</summary>
public class CniException : Exception
{
    public CniException(CniErrorCode code, string message, string? details = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        Details = details;
    }

    public CniErrorCode Code { get; }

    /// <summary>Longer explanation (the error object's "details").</summary>
    public string? Details { get; }

    public CniError ToError(string? cniVersion) => new(cniVersion, (int)Code, Message, Details);
}

/// <summary>The spec's error object.</summary>
/// <param name="CniVersion">The version in use (the request's); may be absent in errors from other plugins.</param>
/// <param name="Code">Error code; 0–99 are the spec's, 100+ are plugin-defined.</param>
/// <param name="Msg">Short message.</param>
/// <param name="Details">Longer explanation, optional.</param>
public sealed record CniError(string? CniVersion, int Code, string Msg, string? Details = null)
{
    /// <summary>The code as the well-known enum when it is one.</summary>
    public CniErrorCode? WellKnownCode => Enum.IsDefined((CniErrorCode)Code) ? (CniErrorCode)Code : null;

    public byte[] ToJsonUtf8() => CniErrorJson.Write(this);

    public static CniError Parse(ReadOnlySpan<byte> json) => CniErrorJson.Read(json);
}
