namespace HyperSharp.Integration;

/// <summary>The agent refused a request (its message says why), or is not connected, or the request timed out.</summary>
public sealed class GuestAgentException(string message, Exception? inner = null) : Exception(message, inner);
