namespace VpcCni.Cni;

/// <summary>The well-known CNI error codes (0–99 are reserved for the spec).</summary>
public enum CniErrorCode
{
    /// <summary>Incompatible CNI version.</summary>
    IncompatibleVersion = 1,

    /// <summary>Unsupported field in network configuration; the message names the key and value.</summary>
    UnsupportedField = 2,

    /// <summary>Container unknown or does not exist; tells the runtime no cleanup is needed.</summary>
    UnknownContainer = 3,

    /// <summary>Invalid necessary environment variables; the message names them.</summary>
    InvalidEnvironmentVariables = 4,

    /// <summary>I/O failure, e.g. reading stdin.</summary>
    IOFailure = 5,

    /// <summary>Failed to decode content (bad JSON, bad version string).</summary>
    DecodingFailure = 6,

    /// <summary>Invalid network configuration.</summary>
    InvalidNetworkConfig = 7,

    /// <summary>Transient: try again later.</summary>
    TryAgainLater = 11,

    /// <summary>STATUS: the plugin cannot service ADD.</summary>
    PluginNotAvailable = 50,

    /// <summary>STATUS: not available, and existing containers may have limited connectivity.</summary>
    PluginNotAvailableLimitedConnectivity = 51,

    /// <summary>Unexpected internal failure (the Go skel's ErrInternal).</summary>
    Internal = 999,
}
