namespace VpcCni.Aws.Imds;

/// <summary>Where and how to reach the instance metadata service.</summary>
internal sealed class ImdsOptions
{
    /// <summary>The SDK's standard variable for the IMDS base address.</summary>
    public const string EndpointVariable = "AWS_EC2_METADATA_SERVICE_ENDPOINT";

    /// <summary>The SDK's standard switch that forbids reaching IMDS.</summary>
    public const string DisabledVariable = "AWS_EC2_METADATA_DISABLED";

    /// <summary>The link-local IMDS address of every EC2 instance.</summary>
    public static readonly Uri DefaultEndpoint = new("http://169.254.169.254/");

    /// <summary>IMDS base address; null means <see cref="DefaultEndpoint"/>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Session token lifetime requested from IMDS (1 s to 6 h).</summary>
    public TimeSpan TokenTtl { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Timeout of one HTTP request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per request (upstream retries 10 times).</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>First retry delay; doubles per attempt, capped by <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Set when AWS_EC2_METADATA_DISABLED=true: only an explicit <see cref="Endpoint"/> may be used.</summary>
    public bool DefaultEndpointDisabled { get; set; }

    /// <summary>The effective base address, or an error naming the variables when IMDS is disabled.</summary>
    public Uri ResolveEndpoint()
    {
        if (Endpoint is not null)
        {
            return Endpoint;
        }

        return DefaultEndpointDisabled
            ? throw new InvalidOperationException(
                $"{DisabledVariable}=true forbids the default IMDS address {DefaultEndpoint}; set {EndpointVariable} to reach a metadata service")
            : DefaultEndpoint;
    }

    /// <summary>Reads <c>AWS_EC2_METADATA_SERVICE_ENDPOINT</c> and <c>AWS_EC2_METADATA_DISABLED</c>; errors name the variable.</summary>
    public static ImdsOptions FromEnvironment(Func<string, string?> getVariable)
    {
        var options = new ImdsOptions();
        Bind(options, getVariable);
        options.Validate();
        return options;
    }

    /// <summary>Writes <c>AWS_EC2_METADATA_SERVICE_ENDPOINT</c> and <c>AWS_EC2_METADATA_DISABLED</c> into <paramref name="options"/>.</summary>
    public static void Bind(ImdsOptions options, Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(getVariable);
        var endpoint = getVariable(EndpointVariable);
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"{EndpointVariable}='{endpoint}' is not an absolute http(s) URL");
            }

            options.Endpoint = uri;
        }

        var disabled = getVariable(DisabledVariable);
        options.DefaultEndpointDisabled = disabled is not null && disabled.Trim().Equals("true", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (TokenTtl < TimeSpan.FromSeconds(1) || TokenTtl > TimeSpan.FromHours(6))
        {
            throw new ArgumentException($"IMDS token TTL {TokenTtl} must be between 1 second and 6 hours");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentException($"IMDS MaxAttempts {MaxAttempts} must be at least 1");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"IMDS RequestTimeout {RequestTimeout} must be positive");
        }
    }
}
