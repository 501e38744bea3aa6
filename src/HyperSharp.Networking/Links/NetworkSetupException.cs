namespace HyperSharp.Networking.Links;

/// <summary>A switch's host-side interface (TAP, bridged adapter) could not be set up; the message says what and what to do.</summary>
public sealed class NetworkSetupException(string message) : Exception(message);
