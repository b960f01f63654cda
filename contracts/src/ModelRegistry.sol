// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ModelRegistry
/// @notice Providers register a model commitment with the verifier contract that checks its
///         proofs, a per-request fee and the number of public input instances.
/// @dev The commitment, verifier and nInputs are immutable once registered: an escrowed request
///      must be judged by the rules in force when the client paid. Only fee and active change.
contract ModelRegistry {
    struct Model {
        address owner;
        address verifier;
        uint256 fee;
        bytes32 commitment;
        uint32 nInputs;
        bool active;
    }

    error ZeroVerifier();
    error VerifierHasNoCode(address verifier);
    error ZeroInputs();
    error DuplicateCommitment(bytes32 commitment, uint256 modelId);
    error UnknownModel(uint256 modelId);
    error NotOwner(address caller, address owner);

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        bytes32 indexed commitment,
        address verifier,
        uint256 fee,
        uint32 nInputs
    );
    event FeeChanged(uint256 indexed modelId, uint256 fee);
    event ActiveChanged(uint256 indexed modelId, bool active);

    /// @notice Number of registered models; ids run from 1 to modelCount (0 means "none").
    uint256 public modelCount;
    mapping(uint256 => Model) private _models;
    /// @notice Model id of a commitment, 0 when unregistered.
    mapping(bytes32 => uint256) public modelIdOf;

    function register(bytes32 commitment, address verifier, uint256 fee, uint32 nInputs)
        external
        returns (uint256 modelId)
    {
        if (verifier == address(0)) revert ZeroVerifier();
        // An account without code "succeeds" on every call with empty return data; the escrow
        // would reject that as InvalidProof, but refusing it here surfaces the mistake early.
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (nInputs == 0) revert ZeroInputs();
        uint256 existing = modelIdOf[commitment];
        // One id per commitment: clients address a model by what it computes, so a second
        // registration (possibly by an impostor at a lower fee) must not shadow the first.
        if (existing != 0) revert DuplicateCommitment(commitment, existing);
        modelId = ++modelCount;
        _models[modelId] = Model(msg.sender, verifier, fee, commitment, nInputs, true);
        modelIdOf[commitment] = modelId;
        emit ModelRegistered(modelId, msg.sender, commitment, verifier, fee, nInputs);
    }

    function setFee(uint256 modelId, uint256 fee) external {
        _ownedModel(modelId).fee = fee;
        emit FeeChanged(modelId, fee);
    }

    function setActive(uint256 modelId, bool active) external {
        _ownedModel(modelId).active = active;
        emit ActiveChanged(modelId, active);
    }

    function getModel(uint256 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    function ownerOf(uint256 modelId) external view returns (address) {
        return _existing(modelId).owner;
    }

    function verifierOf(uint256 modelId) external view returns (address) {
        return _existing(modelId).verifier;
    }

    function feeOf(uint256 modelId) external view returns (uint256) {
        return _existing(modelId).fee;
    }

    function isActive(uint256 modelId) external view returns (bool) {
        return _existing(modelId).active;
    }

    function _existing(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }

    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _existing(modelId);
        if (m.owner != msg.sender) revert NotOwner(msg.sender, m.owner);
    }
}
