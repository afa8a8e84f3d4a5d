namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>A call's outcome: code, detail (grpc-message or our own words) and, for a transport failure, its cause.</summary>
internal readonly record struct GrpcCallStatus(GrpcStatusCode Code, string Detail, Exception? DebugException = null)
{
    public static GrpcCallStatus Ok { get; } = new(GrpcStatusCode.OK, "");

    /// <summary>The code's name as Grpc.Core spells it ("Unavailable"), without Enum.ToString's reflection.</summary>
    public static string NameOf(GrpcStatusCode code) => code switch
    {
        GrpcStatusCode.OK => "OK",
        GrpcStatusCode.Cancelled => "Cancelled",
        GrpcStatusCode.Unknown => "Unknown",
        GrpcStatusCode.InvalidArgument => "InvalidArgument",
        GrpcStatusCode.DeadlineExceeded => "DeadlineExceeded",
        GrpcStatusCode.NotFound => "NotFound",
        GrpcStatusCode.AlreadyExists => "AlreadyExists",
        GrpcStatusCode.PermissionDenied => "PermissionDenied",
        GrpcStatusCode.ResourceExhausted => "ResourceExhausted",
        GrpcStatusCode.FailedPrecondition => "FailedPrecondition",
        GrpcStatusCode.Aborted => "Aborted",
        GrpcStatusCode.OutOfRange => "OutOfRange",
        GrpcStatusCode.Unimplemented => "Unimplemented",
        GrpcStatusCode.Internal => "Internal",
        GrpcStatusCode.Unavailable => "Unavailable",
        GrpcStatusCode.DataLoss => "DataLoss",
        GrpcStatusCode.Unauthenticated => "Unauthenticated",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
